-- New incidents per interval and sector in the time range (time series, one line per sector).
SELECT
    $__timeInterval(first_seen) AS time,
    sector,
    count() AS incidents
FROM incidents FINAL
WHERE region = ${region:sqlstring}
  AND (${sector:sqlstring} = 'all' OR sector = ${sector:sqlstring})
  AND $__timeFilter(first_seen)
GROUP BY time, sector
ORDER BY time, sector
