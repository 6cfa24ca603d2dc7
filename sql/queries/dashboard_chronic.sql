-- The dashboard's chronic-problems panel: the latest weekly report_chronic_problems of a region
-- computed for a day up to `day` (the chronic_problems DAG), highest score first.
-- Parameters: region, day, limit.
SELECT day, municipality, settlement, sector, incidents, recent, earlier, reopened, posts, score, example_title, example_url
FROM report_chronic_problems FINAL
WHERE region = {region:String}
  AND day = (SELECT max(day) FROM report_chronic_problems WHERE region = {region:String} AND day <= {day:Date})
ORDER BY score DESC, incidents DESC, municipality, settlement, sector
LIMIT {limit:UInt32}
