-- The latest sector correction of each of some incidents (status events with `sector` set).
-- (Aliases differ from the column names: ClickHouse would read WHERE's `sector` as the alias.)
-- Parameters: ids.
SELECT incident_id, argMax(sector, at) AS corrected_sector, max(at) AS corrected_at
FROM incident_status_events
WHERE incident_id IN {ids:Array(String)} AND sector != ''
GROUP BY incident_id
