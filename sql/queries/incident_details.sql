-- Incidents by id, their latest version (no FINAL: LIMIT 1 BY on the primary key is far cheaper
-- for a few ids). Their state comes from incident_states.sql. Parameters: ids.
SELECT incident_id, region, municipality, oktmo, settlement, settlement_oktmo, lat, lon, h3, sector, urgency, title,
       posts_count, first_seen, last_seen, responsible_body, first_answer_due, resolution_due, source_url,
       sector_confidence, needs_review, reopened
FROM incidents
WHERE incident_id IN {ids:Array(String)}
ORDER BY updated_at DESC
LIMIT 1 BY incident_id
