-- Complaint times of the last 28 days (the tension monitor's baseline), newest window first.
SELECT if(oktmo != '', oktmo, if(region != '', region, '?')) AS key, sector, created_at
FROM posts_enriched FINAL
WHERE is_complaint = 1
  AND created_at >= (SELECT max(created_at) FROM posts_enriched) - toIntervalDay({days:UInt32})
