-- Incidents first seen in the time range per sector: all of them, still open, open and past a deadline.
SELECT
    sector,
    count() AS new_incidents,
    countIf(status NOT IN ('resolved', 'rejected')) AS open_incidents,
    countIf(status NOT IN ('resolved', 'rejected')
            AND (ifNull(first_answer_overdue, 0) = 1 OR ifNull(resolution_overdue, 0) = 1)) AS overdue_incidents
FROM incident_current
WHERE region = ${region:sqlstring}
  AND (${sector:sqlstring} = 'all' OR sector = ${sector:sqlstring})
  AND $__timeFilter(first_seen)
GROUP BY sector
ORDER BY new_incidents DESC, sector
