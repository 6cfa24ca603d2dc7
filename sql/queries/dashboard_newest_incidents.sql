-- The newest incidents of a region-day (Moscow calendar day), optionally of one sector ('all' =
-- every sector): ids only, details come from incident_details.sql. Parameters: region, day, sector, limit.
SELECT incident_id, first_seen
FROM incident_days
WHERE region = {region:String} AND day = {day:Date}
  AND ({sector:String} = 'all' OR sector = {sector:String})
ORDER BY first_seen DESC, incident_id
LIMIT 1 BY incident_id
LIMIT {limit:UInt32}
