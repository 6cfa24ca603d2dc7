-- Alerts (tension bursts, missing persons) of a region in the 7 days ending on `day` (Moscow calendar days), newest first,
-- optionally of one sector ('all' = every sector). Parameters: region, day, sector, limit.
SELECT alert_id, kind, municipality, oktmo, h3, sector, window_start, window_end, observed, baseline, created_at, post_id, incident_id
FROM alerts FINAL
WHERE region = {region:String}
  AND window_end >= toDateTime64(toDateTime({day:Date} - 6, 'Europe/Moscow'), 3, 'UTC')
  AND window_end < toDateTime64(toDateTime({day:Date} + 1, 'Europe/Moscow'), 3, 'UTC')
  AND ({sector:String} = 'all' OR sector = {sector:String})
ORDER BY window_end DESC, alert_id
LIMIT {limit:UInt32}
