-- Days with incidents of a region (Moscow calendar days), newest first: the dashboard's day picker.
-- Parameters: region, since (Date).
SELECT day, uniqExact(incident_key) AS incidents
FROM incident_days
WHERE region = {region:String} AND day >= {since:Date}
GROUP BY day
ORDER BY day DESC
