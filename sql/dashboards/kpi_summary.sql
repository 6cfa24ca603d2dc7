-- Incidents first seen in the time range: how many, how many are still open, how many of those
-- are past a deadline now; tension alerts raised in the range.
SELECT
    count() AS new_incidents,
    countIf(status NOT IN ('resolved', 'rejected')) AS open_incidents,
    countIf(status NOT IN ('resolved', 'rejected')
            AND (ifNull(first_answer_overdue, 0) = 1 OR ifNull(resolution_overdue, 0) = 1)) AS overdue_incidents,
    (
        SELECT count()
        FROM v_tension_alerts
        WHERE region = ${region:sqlstring}
          AND (${sector:sqlstring} = 'all' OR sector = ${sector:sqlstring})
          AND $__timeFilter(window_end)
    ) AS tension_alerts
FROM incident_current
WHERE region = ${region:sqlstring}
  AND (${sector:sqlstring} = 'all' OR sector = ${sector:sqlstring})
  AND $__timeFilter(first_seen)
