-- The oldest overdue incidents per municipality at the end of `day` (Europe/Moscow): first seen on or
-- before the day, no first answer before the end of the day, first-answer deadline passed by then —
-- the same test as report_sla_daily.overdue_now, without its 7-day window. At most 15 per municipality.
-- Parameters: day, region, computed_at.
INSERT INTO report_sla_overdue
WITH toDateTime64(toDateTime({day:Date} + 1, 'Europe/Moscow'), 3, 'UTC') AS as_of
SELECT
    {day:Date} AS day, {region:String} AS region, i.municipality AS municipality, i.incident_id AS incident_id,
    i.first_seen AS first_seen, i.settlement AS settlement, i.sector AS sector, i.title AS title,
    i.responsible_body AS responsible_body, i.first_answer_due AS first_answer_due, i.source_url AS source_url,
    {computed_at:DateTime64(3, 'UTC')} AS computed_at
FROM incidents AS i FINAL
LEFT JOIN
(
    SELECT DISTINCT incident_id FROM incident_status_events
    WHERE status IN ('answered', 'in_progress', 'resolved', 'rejected') AND at < as_of
) AS a ON a.incident_id = i.incident_id
WHERE i.region = {region:String} AND i.municipality != '' AND a.incident_id = ''
  AND i.first_answer_due < as_of AND toDate(i.first_seen, 'Europe/Moscow') <= {day:Date}
ORDER BY i.municipality, i.first_seen, i.incident_id
LIMIT 15 BY i.municipality
