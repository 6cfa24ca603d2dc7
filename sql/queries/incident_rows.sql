-- Incidents by id as stored (their latest version, every column the stream writes), for a new
-- version after an operator's sector correction. Parameters: ids.
SELECT incident_id, region, municipality, oktmo, settlement, settlement_oktmo, lat, lon, h3, sector, sector_confidence, complaint_score, urgency, title, posts_count, first_seen, last_seen, responsible_body, first_answer_due, resolution_due, model_version, updated_at, place_key, signature, urgency_reasons, source_url, needs_review, reopened
FROM incidents
WHERE incident_id IN {ids:Array(String)}
ORDER BY updated_at DESC
LIMIT 1 BY incident_id
