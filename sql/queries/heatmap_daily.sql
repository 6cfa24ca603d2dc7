-- Incidents per H3 cell (resolution 8 as stored, 7 as its parent) and sector for one day, with
-- the tension index against the trailing 28-day mean of the same cell and sector.
-- Parameters: day, region, computed_at. Days are calendar days in Europe/Moscow.
INSERT INTO report_heatmap_daily
WITH
    cells AS (
        SELECT
            toDate(first_seen, 'Europe/Moscow') AS d,
            res,
            if(res = 8, h3, h3ToString(h3ToParent(stringToH3(h3), 7))) AS cell,
            sector, municipality, settlement, incident_id, posts_count
        FROM incident_current
        ARRAY JOIN [7, 8] AS res
        WHERE region = {region:String} AND h3 != ''
          AND toDate(first_seen, 'Europe/Moscow') BETWEEN {day:Date} - 28 AND {day:Date}
    ),
    by_sector AS (
        SELECT d, res, cell, sector, municipality, settlement, incident_id, posts_count FROM cells
        UNION ALL
        SELECT d, res, cell, 'all' AS sector, municipality, settlement, incident_id, posts_count FROM cells
    )
SELECT
    {day:Date} AS day,
    {region:String} AS region,
    res AS resolution,
    cell AS h3,
    sector,
    topKIf(1)(municipality, d = {day:Date})[1] AS municipality,
    topKIf(1)(settlement, d = {day:Date} AND settlement != '')[1] AS settlement,
    uniqExactIf(incident_id, d = {day:Date}) AS incidents,
    toUInt32(sumIf(posts_count, d = {day:Date})) AS posts,
    uniqExactIf(incident_id, d < {day:Date}) / 28 AS baseline,
    (incidents + 1) / (baseline + 1) AS tension,
    h3ToGeo(stringToH3(cell)).1 AS lat,   -- ClickHouse ≥ 25: (lat, lon); h3togeo_lon_lat_result_order = 0
    h3ToGeo(stringToH3(cell)).2 AS lon,
    {computed_at:DateTime64(3, 'UTC')} AS computed_at
FROM by_sector
GROUP BY res, cell, sector
HAVING incidents > 0
