-- Tension episodes that may still be open (their window ended within the recent window).
SELECT if(oktmo != '', oktmo, if(region != '', region, '?')) AS key, sector, toStartOfHour(window_end) AS episode
FROM alerts FINAL
WHERE kind = 'tension'
  AND window_end >= (SELECT max(window_end) FROM alerts) - toIntervalHour({hours:UInt32})
