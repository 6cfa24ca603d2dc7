-- incident_cells_daily: the hot aggregate of the dashboards (day × region × ОКТМО × sector × H3 cell at
-- resolutions 7 and 8), so a heat map or a 28-day baseline merges a few pre-aggregated states instead of
-- counting incidents. Filled on every insert into incidents by a materialised view, and back-filled once
-- below. Read with the -Merge combinators, grouping by what the question needs (no 'all' sector rows:
-- merging the states of every sector gives it):
--     uniqExactMerge(incidents)               distinct incidents
--     arraySum(maxMapMerge(posts).2)          their posts (posts_count of each incident, latest version)
-- Correct under ReplacingMergeTree versions: each version of an incident adds its incident_key to the
-- same set (an incident inserted five times counts once) and its posts_count under that key, keeping
-- the largest (an incident's post count grows from version to version), so neither figure depends on
-- merges, FINAL or re-running the back-fill. A sum of posts_count would count every version: hence
-- the map per incident.
-- One thing FINAL sees differently: if a late, older post moves an incident's first_seen to an earlier
-- Moscow day, the aggregate (like incident_days) holds the incident on both days.
-- The cells are those of incident_days (0006): the same never-throwing expressions over incidents.h3;
-- resolution 8 = the cell as stored (resolution 8 in the stream), 7 = its parent; 0 = no usable cell.
-- The view runs with its definer's rights (SQL SECURITY DEFINER with DEFINER = the user who ran the
-- migration: ClickHouse's default for materialised views, default_materialized_view_sql_security), so
-- the worker that inserts into incidents needs no grant on incident_cells_daily (docs/cluster.md).

CREATE TABLE IF NOT EXISTS incident_cells_daily
(
    region      LowCardinality(String),
    day         Date COMMENT 'toDate(first_seen, Europe/Moscow), the calendar day of the daily products',
    resolution  UInt8 COMMENT '8 = the cell as stored, 7 = its parent',
    sector      LowCardinality(String),
    oktmo       String COMMENT 'municipality ОКТМО, 8 digits; empty = unknown',
    h3_cell     UInt64 COMMENT 'H3 cell at `resolution`; 0 = the incident has no usable cell',
    incidents   AggregateFunction(uniqExact, UInt64) COMMENT 'incident keys (cityHash64(incident_id)): uniqExactMerge',
    posts       AggregateFunction(maxMap, Array(UInt64), Array(UInt32)) COMMENT 'incident key → posts_count: arraySum(maxMapMerge(posts).2)'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (region, day, resolution, sector, oktmo, h3_cell);

CREATE MATERIALIZED VIEW IF NOT EXISTS incident_cells_daily_mv TO incident_cells_daily AS
SELECT
    region, day, resolution, sector, oktmo,
    if(resolution = 8, cell_8, cell_7) AS h3_cell,
    uniqExactState(incident_key) AS incidents,
    maxMapState([incident_key], [posts_count]) AS posts
FROM
(
    SELECT
        region,
        toDate(first_seen, 'Europe/Moscow') AS day,
        sector,
        oktmo,
        cityHash64(incident_id) AS incident_key,
        posts_count,
        if(match(h3, '^[0-9a-f]{15}$'), reinterpretAsUInt64(reverse(unhex(leftPad(h3, 16, '0')))), 0) AS raw_cell,
        h3IsValid(raw_cell) AND bitAnd(bitShiftRight(raw_cell, 52), 15) >= 7 AS usable,
        if(usable, raw_cell, 0) AS cell_8,
        if(usable, h3ToParent(if(usable, raw_cell, 613289123010052095), 7), 0) AS cell_7
    FROM incidents
)
ARRAY JOIN [7, 8] AS resolution
GROUP BY region, day, resolution, sector, oktmo, h3_cell;

INSERT INTO incident_cells_daily (region, day, resolution, sector, oktmo, h3_cell, incidents, posts)
SELECT
    region, day, resolution, sector, oktmo,
    if(resolution = 8, cell_8, cell_7) AS h3_cell,
    uniqExactState(incident_key) AS incidents,
    maxMapState([incident_key], [posts_count]) AS posts
FROM
(
    SELECT
        region,
        toDate(first_seen, 'Europe/Moscow') AS day,
        sector,
        oktmo,
        cityHash64(incident_id) AS incident_key,
        posts_count,
        if(match(h3, '^[0-9a-f]{15}$'), reinterpretAsUInt64(reverse(unhex(leftPad(h3, 16, '0')))), 0) AS raw_cell,
        h3IsValid(raw_cell) AND bitAnd(bitShiftRight(raw_cell, 52), 15) >= 7 AS usable,
        if(usable, raw_cell, 0) AS cell_8,
        if(usable, h3ToParent(if(usable, raw_cell, 613289123010052095), 7), 0) AS cell_7
    FROM incidents
)
ARRAY JOIN [7, 8] AS resolution
GROUP BY region, day, resolution, sector, oktmo, h3_cell;
