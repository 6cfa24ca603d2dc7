-- Chronic problems: place × sector pairs (settlement or municipality; not region-wide) with at
-- least `min_incidents` incidents first seen in the `window_days` Moscow calendar days ending on
-- `day`; the split into the last 30 days and the days before gives the trend. Missing-person
-- incidents (place key 'missing:…') are not problems of a place. The score (docs/quality-control.md):
--   incidents × trend × (1 + reopened / incidents), trend = (recent + 1) / (earlier per 30 days + 1)
--   clamped to [0.5, 2]: incidents, not posts (a loud community does not outrank a quiet one),
--   growth weighs, and so do fixes that did not last.
-- Parameters: day, region, min_incidents, window_days, computed_at.
INSERT INTO report_chronic_problems
WITH
    toDateTime64(toDateTime({day:Date} + 1, 'Europe/Moscow'), 3, 'UTC') AS as_of,
    base AS (
        SELECT incident_id, municipality, oktmo, place_key, settlement, sector, title, source_url, first_seen,
               toDate(first_seen, 'Europe/Moscow') AS d
        FROM incidents FINAL
        WHERE region = {region:String}
          AND toDate(first_seen, 'Europe/Moscow') BETWEEN {day:Date} - ({window_days:UInt16} - 1) AND {day:Date}
          AND NOT startsWith(place_key, 'missing:') AND NOT startsWith(place_key, 'r:')
    ),
    reopened_ids AS (
        SELECT DISTINCT incident_id FROM incident_status_events
        WHERE status = 'reopened' AND at < as_of AND incident_id IN (SELECT incident_id FROM base)
    ),
    post_counts AS (
        SELECT incident_id, uniqExact(post_id) AS n FROM posts_enriched
        WHERE incident_id IN (SELECT incident_id FROM base) GROUP BY incident_id
    )
SELECT
    {day:Date} AS day,
    {region:String} AS region,
    b.municipality AS municipality,
    any(b.oktmo) AS oktmo,
    b.place_key AS place_key,
    any(b.settlement) AS settlement,
    b.sector AS sector,
    toUInt32(count()) AS incidents,
    toUInt32(countIf(b.d > {day:Date} - 30)) AS recent,
    toUInt32(countIf(b.d <= {day:Date} - 30)) AS earlier,
    toUInt32(countIf(b.incident_id IN (SELECT incident_id FROM reopened_ids))) AS reopened,
    toUInt32(sum(p.n)) AS posts,
    incidents * greatest(0.5, least(2.0, (recent + 1) / (earlier * 30 / greatest({window_days:UInt16} - 30, 1) + 1)))
        * (1 + reopened / incidents) AS score,
    argMax(b.title, b.first_seen) AS example_title,
    argMax(b.source_url, b.first_seen) AS example_url,
    {computed_at:DateTime64(3, 'UTC')} AS computed_at
FROM base AS b
LEFT JOIN post_counts AS p ON p.incident_id = b.incident_id
GROUP BY b.municipality, b.place_key, b.sector
HAVING incidents >= {min_incidents:UInt32}
SETTINGS join_use_nulls = 0
