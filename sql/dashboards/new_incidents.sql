-- The newest incidents of the time range with their status and the hours left to the deadline
-- that applies now: the first answer until it is given, then the resolution (negative = overdue,
-- empty = closed).
SELECT
    first_seen,
    municipality,
    settlement,
    sector,
    title,
    status,
    responsible_body,
    multiIf(status IN ('resolved', 'rejected'), NULL,
            first_answer_at IS NULL, first_answer_due,
            resolution_due) AS next_deadline,
    round(dateDiff('second', now64(3, 'UTC'), next_deadline) / 3600, 1) AS hours_to_deadline,
    posts_count,
    source_url
FROM incident_current
WHERE region = ${region:sqlstring}
  AND (${sector:sqlstring} = 'all' OR sector = ${sector:sqlstring})
  AND $__timeFilter(first_seen)
ORDER BY first_seen DESC
LIMIT 200
