-- Complaint posts of a region in the `days` Moscow calendar days ending on `day` and the 28 days
-- before them, with their text: the analysis of what worries residents (reports/concerns.py).
-- Parameters: region, day, days.
WITH
    toDateTime64(toDateTime({day:Date} - ({days:UInt16} + 27), 'Europe/Moscow'), 3, 'UTC') AS since,
    toDateTime64(toDateTime({day:Date} + 1, 'Europe/Moscow'), 3, 'UTC') AS until
SELECT e.post_id AS post_id, toDate(e.created_at, 'Europe/Moscow') AS d, e.sector AS sector, e.municipality AS municipality,
       e.incident_id AS incident_id, r.text AS text
FROM posts_enriched AS e FINAL
INNER JOIN
(
    SELECT post_id, any(text) AS text FROM posts_raw
    WHERE created_at >= since AND created_at < until
    GROUP BY post_id
) AS r ON r.post_id = e.post_id
WHERE e.region = {region:String} AND e.is_complaint = 1 AND e.created_at >= since AND e.created_at < until
