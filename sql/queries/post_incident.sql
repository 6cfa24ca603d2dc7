-- A post (e.g. one sent through Open311 POST requests.json) and the incident it joined ('' when
-- it is not a complaint): its latest enrichment. Parameters: post_id.
SELECT post_id, incident_id, created_at, region, municipality, oktmo, settlement, lat, lon, sector, is_complaint
FROM posts_enriched
WHERE post_id = {post_id:String}
ORDER BY enriched_at DESC
LIMIT 1
