-- incident_days: one narrow row per incident, ordered by region and Moscow calendar day (the
-- built-in dashboard and the Open311 API read a day or a date range without scanning `incidents`,
-- which is ordered by incident_id). Filled by a materialised view on every insert into incidents
-- (each version of an incident gives the same key: ReplacingMergeTree keeps one; readers count
-- distinct incident_key, so unmerged versions never double-count), and back-filled once below
-- (re-running the back-fill only adds versions of the same keys).
-- The H3 columns are numbers; a missing or unusable cell (not hex, resolution < 7) is 0. The
-- expressions never throw, so the view cannot fail an insert into incidents.

CREATE TABLE IF NOT EXISTS incident_days
(
    region        LowCardinality(String),
    day           Date COMMENT 'toDate(first_seen, Europe/Moscow), the calendar day of the daily products',
    sector        LowCardinality(String),
    incident_id   String,
    incident_key  UInt64 COMMENT 'cityHash64(incident_id): cheap distinct counts',
    first_seen    DateTime64(3, 'UTC'),
    h3_cell       UInt64 COMMENT 'the incident''s H3 cell as stored (resolution 8 in the stream); 0 = none',
    h3_7          UInt64 COMMENT 'its resolution-7 parent; 0 = none',
    lat           Nullable(Float64),
    lon           Nullable(Float64),
    municipality  LowCardinality(String),
    settlement    String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (region, day, sector, incident_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS incident_days_mv TO incident_days AS
SELECT region, day, sector, incident_id, incident_key, first_seen, h3_cell, h3_7, lat, lon, municipality, settlement
FROM
(
    SELECT
        region,
        toDate(first_seen, 'Europe/Moscow') AS day,
        sector,
        incident_id,
        cityHash64(incident_id) AS incident_key,
        first_seen,
        if(match(h3, '^[0-9a-f]{15}$'), reinterpretAsUInt64(reverse(unhex(leftPad(h3, 16, '0')))), 0) AS raw_cell,
        h3IsValid(raw_cell) AND bitAnd(bitShiftRight(raw_cell, 52), 15) >= 7 AS usable,
        if(usable, raw_cell, 0) AS h3_cell,
        if(usable, h3ToParent(if(usable, raw_cell, 613289123010052095), 7), 0) AS h3_7,
        lat,
        lon,
        municipality,
        settlement
    FROM incidents
);

INSERT INTO incident_days (region, day, sector, incident_id, incident_key, first_seen, h3_cell, h3_7, lat, lon, municipality, settlement)
SELECT region, day, sector, incident_id, incident_key, first_seen, h3_cell, h3_7, lat, lon, municipality, settlement
FROM
(
    SELECT
        region,
        toDate(first_seen, 'Europe/Moscow') AS day,
        sector,
        incident_id,
        cityHash64(incident_id) AS incident_key,
        first_seen,
        if(match(h3, '^[0-9a-f]{15}$'), reinterpretAsUInt64(reverse(unhex(leftPad(h3, 16, '0')))), 0) AS raw_cell,
        h3IsValid(raw_cell) AND bitAnd(bitShiftRight(raw_cell, 52), 15) >= 7 AS usable,
        if(usable, raw_cell, 0) AS h3_cell,
        if(usable, h3ToParent(if(usable, raw_cell, 613289123010052095), 7), 0) AS h3_7,
        lat,
        lon,
        municipality,
        settlement
    FROM incidents
);
