-- Tension alerts raised in the time range: a burst of complaints about one sector in one
-- municipality (observed in the 3-hour window against the count expected from the 28-day mean).
SELECT
    window_end,
    municipality,
    sector,
    observed,
    round(baseline, 2) AS expected,
    window_start
FROM v_tension_alerts
WHERE region = ${region:sqlstring}
  AND (${sector:sqlstring} = 'all' OR sector = ${sector:sqlstring})
  AND $__timeFilter(window_end)
ORDER BY window_end DESC
LIMIT 200
