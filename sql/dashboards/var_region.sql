-- Regions that have incidents: the options of the dashboard's region variable.
SELECT DISTINCT region
FROM incidents
WHERE region != ''
ORDER BY region
