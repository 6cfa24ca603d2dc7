-- SLA figures per municipality and responsible body for the 7 days ending on `day` (Europe/Moscow
-- calendar days), "now" = the end of `day`; with the previous 7 days for week-over-week change.
-- Quality control: incidents marked resolved at least once, those reopened after a resolution, and
-- the median time to the resolution that held (still resolved at the end of the day).
-- Parameters: day, region, computed_at.
INSERT INTO report_sla_daily
WITH
    toDateTime64(toDateTime({day:Date} + 1, 'Europe/Moscow'), 3, 'UTC') AS as_of,
    base AS (
        SELECT
            i.municipality AS municipality, i.oktmo AS oktmo, i.responsible_body AS responsible_body,
            toDate(i.first_seen, 'Europe/Moscow') AS d, i.first_seen AS first_seen,
            i.first_answer_due AS first_due, i.resolution_due AS final_due,
            s.first_answer_at AS answered_at, s.resolved_at AS resolved_at,
            s.resolved_once AS resolved_once, s.reopened AS reopened, s.lasting_at AS lasting_at
        FROM incidents AS i FINAL
        LEFT JOIN
        (
            SELECT incident_id,
                   nullIf(minIf(at, status IN ('answered', 'in_progress', 'resolved', 'rejected') AND at < as_of),
                          toDateTime64(0, 3, 'UTC')) AS first_answer_at,
                   nullIf(maxIf(at, status IN ('resolved', 'rejected') AND at < as_of), toDateTime64(0, 3, 'UTC')) AS resolved_at,
                   countIf(status = 'resolved' AND at < as_of) > 0 AS resolved_once,
                   countIf(status = 'reopened' AND at < as_of) > 0 AS reopened,
                   if(argMaxIf(status, at, at < as_of) = 'resolved', maxIf(at, status = 'resolved' AND at < as_of), NULL) AS lasting_at
            FROM incident_status_events FINAL
            GROUP BY incident_id
        ) AS s ON s.incident_id = i.incident_id
        WHERE i.region = {region:String}
          AND toDate(i.first_seen, 'Europe/Moscow') BETWEEN {day:Date} - 13 AND {day:Date}
    )
SELECT
    {day:Date} AS day,
    {region:String} AS region,
    municipality,
    any(oktmo) AS oktmo,
    responsible_body,
    toUInt32(countIf(d > {day:Date} - 7)) AS received,
    toUInt32(countIf(d > {day:Date} - 7 AND answered_at IS NOT NULL AND answered_at <= first_due)) AS answered_on_time,
    toUInt32(countIf(d > {day:Date} - 7 AND answered_at IS NOT NULL AND answered_at > first_due)) AS answered_late,
    toUInt32(countIf(d > {day:Date} - 7 AND answered_at IS NULL AND first_due < as_of)) AS overdue_now,
    toUInt32(countIf(d > {day:Date} - 7 AND resolved_at IS NOT NULL)) AS resolved,
    quantileExactInclusiveIf(0.5)(dateDiff('second', first_seen, answered_at) / 3600, d > {day:Date} - 7 AND answered_at IS NOT NULL) AS m1,
    quantileExactInclusiveIf(0.9)(dateDiff('second', first_seen, answered_at) / 3600, d > {day:Date} - 7 AND answered_at IS NOT NULL) AS p1,
    quantileExactInclusiveIf(0.5)(dateDiff('second', first_seen, resolved_at) / 3600, d > {day:Date} - 7 AND resolved_at IS NOT NULL) AS m2,
    quantileExactInclusiveIf(0.9)(dateDiff('second', first_seen, resolved_at) / 3600, d > {day:Date} - 7 AND resolved_at IS NOT NULL) AS p2,
    if(answered_on_time + answered_late + overdue_now = 0, NULL,
       answered_on_time / (answered_on_time + answered_late + overdue_now)) AS share,
    toUInt32(countIf(d <= {day:Date} - 7)) AS received_prev,
    if(countIf(d <= {day:Date} - 7 AND (answered_at IS NOT NULL OR first_due < as_of)) = 0, NULL,
       countIf(d <= {day:Date} - 7 AND answered_at IS NOT NULL AND answered_at <= first_due)
       / countIf(d <= {day:Date} - 7 AND (answered_at IS NOT NULL OR first_due < as_of))) AS share_prev,
    {computed_at:DateTime64(3, 'UTC')} AS computed_at,
    toUInt32(countIf(d > {day:Date} - 7 AND resolved_once)) AS resolved_once,
    toUInt32(countIf(d > {day:Date} - 7 AND reopened)) AS reopened,
    quantileExactInclusiveIf(0.5)(dateDiff('second', first_seen, lasting_at) / 3600, d > {day:Date} - 7 AND lasting_at IS NOT NULL) AS m3
FROM base
GROUP BY municipality, responsible_body
HAVING received > 0 OR received_prev > 0
