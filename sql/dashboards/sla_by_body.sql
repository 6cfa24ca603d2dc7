-- SLA compliance per responsible body (all its municipalities) from report_sla_daily of the last
-- computed day not after the end of the time range (the 7 days ending on that day). Not filtered
-- by sector.
WITH (
    SELECT max(day)
    FROM report_sla_daily
    WHERE region = ${region:sqlstring} AND day <= toDate($__toTime, 'Europe/Moscow')
) AS report_day
SELECT
    responsible_body,
    uniqExact(municipality) AS municipalities,
    sum(received) AS received_7d,
    sum(answered_on_time) AS on_time_7d,
    sum(answered_late) AS late_7d,
    sum(overdue_now) AS overdue_now_7d,
    sum(resolved) AS resolved_7d,
    if(on_time_7d + late_7d + overdue_now_7d = 0, NULL,
       on_time_7d / (on_time_7d + late_7d + overdue_now_7d)) AS within_deadline_share,
    report_day
FROM report_sla_daily FINAL
WHERE day = report_day AND region = ${region:sqlstring}
GROUP BY responsible_body
ORDER BY within_deadline_share ASC NULLS LAST, received_7d DESC, responsible_body
