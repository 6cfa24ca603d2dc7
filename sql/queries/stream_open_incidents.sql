-- Incidents whose last post is within the window of the newest one: the stream's open incidents.
SELECT incident_id, place_key, sector, signature, first_seen, last_seen, posts_count, urgency,
       region, municipality, oktmo, settlement, settlement_oktmo, lat, lon, h3, sector_confidence, complaint_score,
       title, responsible_body, first_answer_due, resolution_due, model_version, urgency_reasons, source_url
FROM incidents FINAL
WHERE last_seen >= (SELECT max(last_seen) FROM incidents) - toIntervalHour({window_hours:UInt32})
