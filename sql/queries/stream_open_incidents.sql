-- The stream's incidents: those whose last post is within the window of the newest one, and those
-- resolved within the reopen window (complaints that continue reopen them); or, with by_id, the
-- given incidents. resolved_at is the time of the latest status event when that is 'resolved'.
-- posts_count is recounted from posts_enriched (written after incidents in every batch), so an
-- incident row written just before a crash never makes its replayed posts count twice.
-- Parameters: window_hours, reopen_hours, by_id, ids.
WITH open AS (
    SELECT *
    FROM incidents FINAL
    WHERE if({by_id:Bool},
             incident_id IN {ids:Array(String)},
             last_seen >= (SELECT max(last_seen) FROM incidents) - toIntervalHour({window_hours:UInt32})
             OR incident_id IN (
                 SELECT incident_id
                 FROM incident_status_events
                 WHERE status = 'resolved' AND at >= now64(3) - toIntervalHour({reopen_hours:UInt32})
             ))
),
counted AS (
    SELECT incident_id, uniqExact(post_id) AS stored_posts
    FROM posts_enriched
    WHERE incident_id IN (SELECT incident_id FROM open)
    GROUP BY incident_id
),
status AS (
    SELECT incident_id, argMax(status, at) AS current_status, max(at) AS status_at
    FROM incident_status_events
    WHERE incident_id IN (SELECT incident_id FROM open)
    GROUP BY incident_id
)
SELECT o.incident_id, o.place_key, o.sector, o.signature, o.first_seen, o.last_seen, c.stored_posts, o.urgency,
       o.region, o.municipality, o.oktmo, o.settlement, o.settlement_oktmo, o.lat, o.lon, o.h3, o.sector_confidence,
       o.complaint_score, o.title, o.responsible_body, o.first_answer_due, o.resolution_due, o.model_version,
       o.urgency_reasons, o.source_url, o.needs_review, o.reopened,
       if(s.current_status = 'resolved', s.status_at, NULL) AS resolved_at
FROM open AS o
LEFT JOIN counted AS c ON c.incident_id = o.incident_id
LEFT JOIN status AS s ON s.incident_id = o.incident_id
SETTINGS join_use_nulls = 0
