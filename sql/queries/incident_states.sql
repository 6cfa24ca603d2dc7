-- The current state of incidents by id, as the incident_current view defines it: status (the latest
-- status event; an incident without events is 'new'), first answer and resolution times, the last
-- event and its comment. No FINAL: a re-sent event (same event_id, same fields) changes none of
-- these aggregates. Parameters: ids.
SELECT
    incident_id,
    argMax(status, at) AS current_status,
    argMax(comment, at) AS last_comment,
    max(at) AS last_event_at,
    nullIf(minIf(at, status IN ('answered', 'in_progress', 'resolved', 'rejected')), toDateTime64(0, 3, 'UTC')) AS first_answer_at,
    if(current_status IN ('resolved', 'rejected'), max(at), NULL) AS resolved_at
FROM incident_status_events
WHERE incident_id IN {ids:Array(String)}
GROUP BY incident_id
