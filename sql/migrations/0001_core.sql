-- Core schema: raw posts, enriched incidents, status events, routing, alerts, daily products.
-- Conventions: DateTime64(3, 'UTC') for instants; LowCardinality for sectors/regions/sources;
-- ОКТМО as zero-padded strings; ReplacingMergeTree keyed by deterministic ids so a replay
-- (at-least-once delivery) never double-counts: read with FINAL or count distinct ids.

CREATE TABLE IF NOT EXISTS posts_raw
(
    post_id         String COMMENT 'deterministic: keyed by source + source post id',
    source          LowCardinality(String) COMMENT 'vk | telegram | ok | portal | sample | open311',
    source_post_id  String,
    community_id    String,
    community_name  String,
    author_hash     String COMMENT 'keyed hash (HMAC-SHA256) of the author id, never the raw id',
    text            String COMMENT 'phones, e-mails and card numbers masked',
    created_at      DateTime64(3, 'UTC'),
    ingested_at     DateTime64(3, 'UTC'),
    url             String,
    lat             Nullable(Float64),
    lon             Nullable(Float64),
    region_hint     LowCardinality(String),
    place_hint      String
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY post_id;

CREATE TABLE IF NOT EXISTS incidents
(
    incident_id             String COMMENT 'deterministic: same problem, place, sector and window give the same id',
    region                  LowCardinality(String),
    municipality            LowCardinality(String),
    oktmo                   String COMMENT 'ОКТМО of the municipality, zero-padded to 8 digits',
    settlement              String,
    settlement_oktmo        String COMMENT 'ОКТМО of the settlement, zero-padded to 11 digits',
    lat                     Nullable(Float64),
    lon                     Nullable(Float64),
    h3                      String COMMENT 'H3 cell (hex) at the configured resolution',
    sector                  LowCardinality(String),
    sector_confidence       Float32,
    complaint_score         Float32,
    urgency                 Float32,
    title                   String,
    posts_count             UInt32,
    first_seen              DateTime64(3, 'UTC'),
    last_seen               DateTime64(3, 'UTC'),
    responsible_body        String,
    first_answer_due        Nullable(DateTime64(3, 'UTC')),
    resolution_due          Nullable(DateTime64(3, 'UTC')),
    model_version           LowCardinality(String),
    updated_at              DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(first_seen)
ORDER BY incident_id;

CREATE TABLE IF NOT EXISTS incident_status_events
(
    event_id     String COMMENT 'deterministic id of the status change',
    incident_id  String,
    status       LowCardinality(String) COMMENT 'assigned | answered | in_progress | resolved | rejected | reopened',
    actor        String,
    comment      String,
    at           DateTime64(3, 'UTC'),
    received_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(at)
ORDER BY (incident_id, event_id);

CREATE TABLE IF NOT EXISTS routing
(
    region            LowCardinality(String),
    oktmo             String COMMENT 'municipality ОКТМО (8 digits); empty = region-level default',
    sector            LowCardinality(String) COMMENT 'empty = any sector',
    responsible_body  String,
    updated_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (region, oktmo, sector);

CREATE TABLE IF NOT EXISTS alerts
(
    alert_id      String COMMENT 'deterministic per episode: no alert storms on replay',
    kind          LowCardinality(String),
    region        LowCardinality(String),
    municipality  LowCardinality(String),
    oktmo         String,
    h3            String,
    sector        LowCardinality(String),
    window_start  DateTime64(3, 'UTC'),
    window_end    DateTime64(3, 'UTC'),
    observed      UInt32,
    baseline      Float64,
    created_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY alert_id;

-- Daily products: one partition per day, so re-running a logical date replaces that day.
-- The partition key leads ORDER BY: FINAL merges equal keys across partitions.
CREATE TABLE IF NOT EXISTS report_posts_daily
(
    day          Date,
    region       LowCardinality(String),
    source       LowCardinality(String),
    posts        UInt64,
    authors      UInt64,
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY day
ORDER BY (day, region, source);

CREATE TABLE IF NOT EXISTS published_reports
(
    day          Date,
    region       LowCardinality(String),
    product      LowCardinality(String),
    scope        String COMMENT 'region, or the municipality ОКТМО a file is for',
    path         String,
    created_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
PARTITION BY toYYYYMM(day)
ORDER BY (day, region, product, scope, path);
