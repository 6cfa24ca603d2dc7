-- Tables of the daily products (heatmap_daily, sla_daily, regional_rollup). One partition per
-- day; a re-run of a logical date deletes that day's rows of the region first.

CREATE TABLE IF NOT EXISTS report_heatmap_daily
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
PARTITION BY day
ORDER BY (day, region, resolution, sector, h3);

CREATE TABLE IF NOT EXISTS report_sla_daily
(
    day                      Date,
    region                   LowCardinality(String),
    municipality             LowCardinality(String),
    oktmo                    String,
    responsible_body         String,
    received                 UInt32 COMMENT 'incidents first seen in the 7 days ending on day',
    answered_on_time         UInt32,
    answered_late            UInt32,
    overdue_now              UInt32 COMMENT 'no first answer and past its deadline at the end of day',
    resolved                 UInt32,
    median_first_answer_h    Nullable(Float64),
    p90_first_answer_h       Nullable(Float64),
    median_resolution_h      Nullable(Float64),
    p90_resolution_h         Nullable(Float64),
    within_deadline_share    Nullable(Float64),
    received_prev            UInt32 COMMENT 'the same figures for the previous 7 days',
    within_deadline_share_prev Nullable(Float64),
    computed_at              DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY day
ORDER BY (day, region, municipality, responsible_body);
