-- The heat map's baseline: mean incidents per day of each H3 cell over the 28 days before `day`
-- (the definition of report_heatmap_daily.baseline). Past days only, so the API caches it.
-- A day the heatmap_daily DAG has computed is read from its product (report_heatmap_daily.incidents:
-- a few thousand rows a day instead of every incident — over 10 million incidents this is what keeps
-- the map under 100 ms); a day without a product yet (DAG not run, or no incidents) is counted live
-- from incident_days. Reported days show the counts as of the DAG's run, like the reports sent.
-- Parameters: region, day, sector ('all' = every sector), resolution (7 or 8).
WITH reported AS
(
    SELECT DISTINCT day
    FROM report_heatmap_daily
    WHERE region = {region:String} AND day BETWEEN {day:Date} - 28 AND {day:Date} - 1
)
SELECT h3, sum(n) / 28 AS baseline
FROM
(
    SELECT h3, toUInt64(incidents) AS n
    FROM report_heatmap_daily FINAL
    WHERE region = {region:String} AND day BETWEEN {day:Date} - 28 AND {day:Date} - 1
      AND resolution = {resolution:UInt8} AND sector = {sector:String}
    UNION ALL
    SELECT h3ToString(if({resolution:UInt8} = 8, h3_cell, h3_7)) AS h3, uniqExact(incident_key) AS n
    FROM incident_days
    WHERE region = {region:String} AND day BETWEEN {day:Date} - 28 AND {day:Date} - 1 AND h3_cell != 0
      -- the days without a product, as a set the primary key (region, day, …) can use
      AND day IN (SELECT d FROM (SELECT {day:Date} - 1 - number AS d FROM numbers(28)) WHERE d NOT IN reported)
      AND ({sector:String} = 'all' OR sector = {sector:String})
    GROUP BY day, h3
)
GROUP BY h3
