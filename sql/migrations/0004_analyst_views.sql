-- Views for analysts and dashboards (docs/analysts.md): the common questions answered once, on top
-- of incidents (FINAL), incident_current, posts_enriched and alerts. Calendar days are Europe/Moscow
-- days, as in the daily products. "Now" is the server clock (now64), so the overdue figures move
-- with time. A view is never changed in place: a new definition is a new numbered migration.

-- Day × region × municipality × ОКТМО × sector: new incidents (first seen that day) and the posts
-- about incidents written that day (distinct posts, so a replayed post counts once).
CREATE VIEW IF NOT EXISTS v_incidents_daily AS
SELECT
    day,
    region,
    municipality,
    oktmo,
    sector,
    toUInt64(sum(new_incidents)) AS incidents,
    toUInt64(sum(incident_posts)) AS posts
FROM
(
    SELECT
        toDate(first_seen, 'Europe/Moscow') AS day, region, municipality, oktmo, sector,
        toUInt64(count()) AS new_incidents, toUInt64(0) AS incident_posts
    FROM incidents FINAL
    GROUP BY day, region, municipality, oktmo, sector
    UNION ALL
    SELECT
        toDate(created_at, 'Europe/Moscow') AS day, region, municipality, oktmo, sector,
        toUInt64(0) AS new_incidents, toUInt64(uniqExact(post_id)) AS incident_posts
    FROM posts_enriched
    WHERE incident_id != ''
    GROUP BY day, region, municipality, oktmo, sector
)
GROUP BY day, region, municipality, oktmo, sector
COMMENT 'Per Moscow calendar day, region, municipality, ОКТМО and sector: incidents first seen that day and posts about incidents written that day';

-- Open incidents (not resolved or rejected) past their first-answer deadline (no answer yet) or
-- past their resolution deadline, with the hours past each deadline.
CREATE VIEW IF NOT EXISTS v_open_overdue AS
SELECT
    incident_id,
    region,
    municipality,
    oktmo,
    settlement,
    sector,
    title,
    responsible_body,
    status,
    urgency,
    posts_count,
    first_seen,
    first_answer_due,
    resolution_due,
    first_answer_at,
    toUInt8(ifNull(first_answer_overdue, 0)) AS first_answer_missed,
    toUInt8(ifNull(resolution_overdue, 0)) AS resolution_missed,
    if(first_answer_missed = 1, dateDiff('second', first_answer_due, now64(3, 'UTC')) / 3600, NULL) AS hours_past_first_answer_due,
    if(resolution_missed = 1, dateDiff('second', resolution_due, now64(3, 'UTC')) / 3600, NULL) AS hours_past_resolution_due,
    greatest(ifNull(hours_past_first_answer_due, 0), ifNull(hours_past_resolution_due, 0)) AS hours_overdue,
    source_url
FROM incident_current
WHERE status NOT IN ('resolved', 'rejected')
  AND (ifNull(first_answer_overdue, 0) = 1 OR ifNull(resolution_overdue, 0) = 1)
COMMENT 'Open incidents past the first-answer or the resolution deadline now, with hours overdue';

-- One row per incident: hours to the first answer and to closing (resolved or rejected), and
-- whether each deadline was met (1), missed (0) or is still running (NULL).
CREATE VIEW IF NOT EXISTS v_response_times AS
SELECT
    incident_id,
    region,
    municipality,
    oktmo,
    sector,
    responsible_body,
    first_seen,
    toDate(first_seen, 'Europe/Moscow') AS day,
    status,
    first_answer_due,
    resolution_due,
    first_answer_at,
    resolved_at,
    dateDiff('second', first_seen, first_answer_at) / 3600 AS hours_to_first_answer,
    dateDiff('second', first_seen, resolved_at) / 3600 AS hours_to_resolution,
    CAST(multiIf(first_answer_at IS NOT NULL, first_answer_at <= first_answer_due,
                 now64(3, 'UTC') > first_answer_due, 0, NULL) AS Nullable(UInt8)) AS first_answer_on_time,
    CAST(multiIf(resolved_at IS NOT NULL, resolved_at <= resolution_due,
                 now64(3, 'UTC') > resolution_due, 0, NULL) AS Nullable(UInt8)) AS resolution_on_time
FROM incident_current
COMMENT 'Per incident: hours to first answer and to resolution, on-time flags (NULL while the deadline is still ahead)';

-- Tension alerts with the region and municipality filled in: the stream keys an alert by the
-- municipality ОКТМО and leaves both names empty, so they are looked up from the incidents.
CREATE VIEW IF NOT EXISTS v_tension_alerts AS
SELECT
    a.alert_id AS alert_id,
    a.kind AS kind,
    if(a.region != '', a.region, ifNull(m.region, '')) AS region,
    if(a.municipality != '', a.municipality, ifNull(m.municipality, '')) AS municipality,
    a.oktmo AS oktmo,
    a.sector AS sector,
    a.window_start AS window_start,
    a.window_end AS window_end,
    a.observed AS observed,
    a.baseline AS baseline,
    a.created_at AS created_at
FROM alerts AS a FINAL
LEFT JOIN
(
    SELECT oktmo, any(region) AS region, any(municipality) AS municipality
    FROM incidents
    WHERE oktmo != '' AND oktmo IN (SELECT oktmo FROM alerts)
    GROUP BY oktmo
) AS m ON m.oktmo = a.oktmo
COMMENT 'Tension alerts (bursts of complaints per municipality and sector) with region and municipality names';
