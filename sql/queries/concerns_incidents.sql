-- The incidents named by the analysis of what worries residents (its most discussed ones): place,
-- sector, title and link of their latest version. Parameters: ids.
SELECT incident_id, municipality, settlement, sector, title, source_url, posts_count
FROM incidents
WHERE incident_id IN {ids:Array(String)}
ORDER BY updated_at DESC
LIMIT 1 BY incident_id
