-- The dashboard's heat map, the day itself: incidents per H3 cell (resolution 7 or 8) of one
-- region, Moscow calendar day and sector ('all' = every sector), live from incident_days, so the
-- current day shows before the heatmap_daily DAG has run. Same cells and counts as
-- report_heatmap_daily (sql/queries/heatmap_daily.sql); the tension index needs the baseline
-- (dashboard_heatmap_baseline.sql); the labels are the cell's most frequent settlement and one of its
-- municipalities (a cell rarely spans two). Parameters: region, day, sector, resolution.
SELECT
    h3ToString(if({resolution:UInt8} = 8, h3_cell, h3_7)) AS h3,
    any(municipality) AS municipality,
    topKIf(1)(settlement, settlement != '')[1] AS settlement,
    toUInt32(uniqExact(incident_key)) AS incidents
FROM incident_days
WHERE region = {region:String} AND day = {day:Date} AND h3_cell != 0
  AND ({sector:String} = 'all' OR sector = {sector:String})
GROUP BY if({resolution:UInt8} = 8, h3_cell, h3_7)
