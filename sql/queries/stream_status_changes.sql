-- The latest status of the incidents that got a status event stored after `since` (received_at):
-- how the stream learns that an operator resolved an incident (or reopened, rejected, ... it).
-- Parameters: since.
SELECT incident_id, argMax(status, at) AS current_status, max(at) AS status_at, max(received_at) AS received
FROM incident_status_events
WHERE incident_id IN (
    SELECT incident_id FROM incident_status_events
    WHERE received_at > {since:DateTime64(3, 'UTC')}
      -- (partitions by `at`: an event timed more than 30 days before it arrived cannot arm a reopening)
      AND at >= {since:DateTime64(3, 'UTC')} - toIntervalDay(30)
)
GROUP BY incident_id
