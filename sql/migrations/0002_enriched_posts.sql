-- Enriched posts (one row per post: what + where + its incident) and the columns the stream
-- needs to rebuild its open incidents from ClickHouse after a restart.

CREATE TABLE IF NOT EXISTS posts_enriched
(
    post_id             String,
    incident_id         String COMMENT 'empty for posts that are not complaints',
    source              LowCardinality(String),
    community_id        String,
    created_at          DateTime64(3, 'UTC'),
    region              LowCardinality(String),
    municipality        LowCardinality(String),
    oktmo               String COMMENT 'municipality ОКТМО, 8 digits',
    settlement          String,
    settlement_oktmo    String COMMENT '11 digits',
    lat                 Nullable(Float64),
    lon                 Nullable(Float64),
    h3                  String,
    place_confidence    Float32,
    place_method        LowCardinality(String),
    sector              LowCardinality(String),
    sector_confidence   Float32,
    runner_up           LowCardinality(String),
    complaint_score     Float32,
    is_complaint        UInt8,
    urgency             Float32,
    urgency_reasons     Array(LowCardinality(String)),
    model_version       LowCardinality(String),
    enriched_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(enriched_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY post_id;

ALTER TABLE incidents ADD COLUMN IF NOT EXISTS place_key String COMMENT 'settlement, municipality or region the incident is tied to';
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS signature Array(String) COMMENT 'content lemmas of the first post (text similarity)';
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS urgency_reasons Array(LowCardinality(String));
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS source_url String;

-- Current state of every incident: post count from the posts themselves (idempotent), status
-- and answer/resolution times from the status events, overdue flags against the deadlines.
CREATE VIEW IF NOT EXISTS incident_current AS
SELECT
    i.incident_id AS incident_id, i.region AS region, i.municipality AS municipality, i.oktmo AS oktmo,
    i.settlement AS settlement, i.lat AS lat, i.lon AS lon, i.h3 AS h3, i.sector AS sector, i.urgency AS urgency,
    i.title AS title, i.first_seen AS first_seen, i.last_seen AS last_seen, i.responsible_body AS responsible_body,
    i.first_answer_due AS first_answer_due, i.resolution_due AS resolution_due, i.source_url AS source_url,
    ifNull(p.posts, 0) AS posts_count,
    if(s.incident_id = '', 'new', s.current_status) AS status,
    s.first_answer_at AS first_answer_at,
    s.resolved_at AS resolved_at,
    (s.first_answer_at IS NULL AND now64(3, 'UTC') > i.first_answer_due) AS first_answer_overdue,
    (s.resolved_at IS NULL AND now64(3, 'UTC') > i.resolution_due) AS resolution_overdue
FROM incidents AS i FINAL
LEFT JOIN
(
    SELECT incident_id, uniqExact(post_id) AS posts FROM posts_enriched WHERE incident_id != '' GROUP BY incident_id
) AS p ON p.incident_id = i.incident_id
LEFT JOIN
(
    SELECT
        incident_id,
        argMax(status, at) AS current_status,
        minIf(at, status IN ('answered', 'in_progress', 'resolved', 'rejected')) AS first_answer_at_raw,
        if(first_answer_at_raw = toDateTime64(0, 3, 'UTC'), NULL, first_answer_at_raw) AS first_answer_at,
        if(current_status IN ('resolved', 'rejected'), max(at), NULL) AS resolved_at
    FROM incident_status_events FINAL
    GROUP BY incident_id
) AS s ON s.incident_id = i.incident_id;
