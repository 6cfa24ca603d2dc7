-- H3 cells (resolution 7) of the daily heat map (report_heatmap_daily) of the last computed day
-- not after the end of the time range, for the sector (or all sectors): the cell centre for the
-- map's markers, incidents, tension, and the cell boundary as a GeoJSON polygon (h3ToGeoBoundary).
WITH (
    SELECT max(day)
    FROM report_heatmap_daily
    WHERE region = ${region:sqlstring} AND day <= toDate($__toTime, 'Europe/Moscow')
) AS report_day,
h3ToGeoBoundary(stringToH3(h3)) AS ring
SELECT
    h3,
    lat,
    lon,
    municipality,
    settlement,
    incidents,
    posts,
    round(baseline, 3) AS baseline,
    round(tension, 2) AS tension,
    concat('{"type":"Polygon","coordinates":[[',
           arrayStringConcat(arrayMap(p -> concat('[', toString(round(p.2, 6)), ',', toString(round(p.1, 6)), ']'),
                                      arrayPushBack(ring, ring[1])), ','),
           ']]}') AS polygon_geojson,
    report_day
FROM report_heatmap_daily FINAL
WHERE day = report_day
  AND region = ${region:sqlstring}
  AND resolution = 7
  AND sector = ${sector:sqlstring}
ORDER BY tension DESC, incidents DESC, h3
