-- report_heatmap_daily partitioned by month and ordered by (region, resolution, sector, day, h3):
-- the dashboard's 28-day baseline (sql/queries/dashboard_heatmap_baseline.sql) reads the rows of
-- one region, resolution and sector from one or two monthly parts instead of opening 28 daily ones
-- (docs/dashboard.md). ClickHouse cannot change a table's partition key in place, so the table is
-- rebuilt: a new table in the new layout, the rows copied, the two swapped atomically (EXCHANGE
-- TABLES keeps the name every query and grant uses), the old one dropped. Apply it while the
-- heatmap_daily DAG is not writing (a day written between the copy and the swap would need a
-- re-run of that day); `tsur migrate` holds the store lock, so on the embedded store nothing else writes.
-- The statements are safe to run again after an interruption, except between the swap and the
-- drop: a second run would swap back to the daily layout (no row lost, only the speed-up).

CREATE TABLE IF NOT EXISTS report_heatmap_daily_by_month
(
    day            Date,
    region         LowCardinality(String),
    resolution     UInt8,
    h3             String,
    sector         LowCardinality(String) COMMENT 'all = every sector',
    municipality   LowCardinality(String),
    settlement     String COMMENT 'the settlement most complained about in the cell',
    incidents      UInt32,
    posts          UInt32,
    baseline       Float64 COMMENT 'mean incidents per day over the previous 28 days',
    tension        Float64 COMMENT '(incidents + 1) / (baseline + 1)',
    lat            Float64,
    lon            Float64,
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (region, resolution, sector, day, h3);

INSERT INTO report_heatmap_daily_by_month
SELECT day, region, resolution, h3, sector, municipality, settlement, incidents, posts, baseline, tension, lat, lon, computed_at
FROM report_heatmap_daily;

EXCHANGE TABLES report_heatmap_daily AND report_heatmap_daily_by_month;

DROP TABLE IF EXISTS report_heatmap_daily_by_month;
