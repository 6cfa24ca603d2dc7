-- The dashboard's SLA table: report_sla_daily (the sla_daily DAG) summed per municipality for one
-- region-day: incidents received in the 7 days ending on `day`, answered on time / late, overdue
-- at the end of the day, resolved, and the share answered within the deadline.
-- Parameters: region, day.
SELECT
    municipality,
    any(oktmo) AS oktmo,
    count() AS bodies,
    toUInt32(sum(received)) AS received,
    toUInt32(sum(answered_on_time)) AS answered_on_time,
    toUInt32(sum(answered_late)) AS answered_late,
    toUInt32(sum(overdue_now)) AS overdue_now,
    toUInt32(sum(resolved)) AS resolved,
    if(answered_on_time + answered_late + overdue_now = 0, NULL,
       answered_on_time / (answered_on_time + answered_late + overdue_now)) AS within_deadline_share,
    max(computed_at) AS computed_at
FROM report_sla_daily FINAL
WHERE day = {day:Date} AND region = {region:String}
GROUP BY municipality
ORDER BY overdue_now DESC, received DESC, municipality
