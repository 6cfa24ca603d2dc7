-- Incidents first seen in the time range per municipality (the 30 with most): all, open, overdue.
-- Incidents placed only at region level are shown as 'не определено'.
SELECT
    if(municipality = '', 'не определено', municipality) AS municipality,
    count() AS new_incidents,
    countIf(status NOT IN ('resolved', 'rejected')) AS open_incidents,
    countIf(status NOT IN ('resolved', 'rejected')
            AND (ifNull(first_answer_overdue, 0) = 1 OR ifNull(resolution_overdue, 0) = 1)) AS overdue_incidents
FROM incident_current
WHERE region = ${region:sqlstring}
  AND (${sector:sqlstring} = 'all' OR sector = ${sector:sqlstring})
  AND $__timeFilter(first_seen)
GROUP BY municipality
ORDER BY new_incidents DESC, municipality
LIMIT 30
