-- The heat map's baseline: mean incidents per day of each H3 cell over the 28 days before `day`
-- (the definition of report_heatmap_daily.baseline). Past days only, so the API caches it.
-- Parameters: region, day, sector ('all' = every sector), resolution (7 or 8).
SELECT
    h3ToString(if({resolution:UInt8} = 8, h3_cell, h3_7)) AS h3,
    uniqExact(incident_key) / 28 AS baseline
FROM incident_days
WHERE region = {region:String} AND day BETWEEN {day:Date} - 28 AND {day:Date} - 1 AND h3_cell != 0
  AND ({sector:String} = 'all' OR sector = {sector:String})
GROUP BY if({resolution:UInt8} = 8, h3_cell, h3_7)
