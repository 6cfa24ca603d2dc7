-- Stage two and three of a centre (docs/quality-control.md):
-- * the missing-person fast lane: an alert of kind 'missing_person' names its post and the
--   incident of its own that the post opened (streams/fast_lane.py);
-- * quality control of resolutions: the stream reopens a resolved incident when complaints about
--   the same place and sector continue (a 'reopened' status event by actor 'tsur'), and counts it.

ALTER TABLE alerts ADD COLUMN IF NOT EXISTS post_id String DEFAULT '' COMMENT 'missing_person: the post that raised it';
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS incident_id String DEFAULT '' COMMENT 'missing_person: the incident the post opened';
ALTER TABLE report_sla_daily ADD COLUMN IF NOT EXISTS resolved_once UInt32 DEFAULT 0 COMMENT 'incidents of the 7 days marked resolved at least once';
ALTER TABLE report_sla_daily ADD COLUMN IF NOT EXISTS reopened UInt32 DEFAULT 0 COMMENT 'incidents of the 7 days reopened after a resolution';
ALTER TABLE report_sla_daily ADD COLUMN IF NOT EXISTS median_lasting_resolution_h Nullable(Float64) COMMENT 'median hours from first post to the resolution that held (status still resolved at the end of day)';
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS reopened UInt16 DEFAULT 0 COMMENT 'times the stream reopened it after a resolution because complaints continued';

-- incident_current as in 0008, plus how many times the incident was reopened
CREATE OR REPLACE VIEW incident_current AS
SELECT
    i.incident_id AS incident_id, i.region AS region, i.municipality AS municipality, i.oktmo AS oktmo,
    i.settlement AS settlement, i.lat AS lat, i.lon AS lon, i.h3 AS h3, i.sector AS sector, i.urgency AS urgency,
    i.title AS title, i.sector_confidence AS sector_confidence, i.needs_review AS needs_review, i.first_seen AS first_seen, i.last_seen AS last_seen, i.responsible_body AS responsible_body,
    i.first_answer_due AS first_answer_due, i.resolution_due AS resolution_due, i.source_url AS source_url,
    ifNull(p.posts, 0) AS posts_count,
    if(s.incident_id = '', 'new', s.current_status) AS status,
    s.first_answer_at AS first_answer_at,
    s.resolved_at AS resolved_at,
    (s.first_answer_at IS NULL AND now64(3, 'UTC') > i.first_answer_due) AS first_answer_overdue,
    (s.resolved_at IS NULL AND now64(3, 'UTC') > i.resolution_due) AS resolution_overdue,
    i.reopened AS reopened
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

-- Prevention: place × sector pairs with recurring incidents (weekly DAG chronic_problems), one
-- partition per week-ending day, so a re-run of a logical date replaces it.
CREATE TABLE IF NOT EXISTS report_chronic_problems
(
    day             Date COMMENT 'the last day of the 90-day window (the logical date)',
    region          LowCardinality(String),
    municipality    LowCardinality(String),
    oktmo           String,
    place_key       String,
    settlement      String,
    sector          LowCardinality(String),
    incidents       UInt32 COMMENT 'incidents in the window',
    recent          UInt32 COMMENT 'of them in the last 30 days',
    earlier         UInt32 COMMENT 'of them in the 60 days before',
    reopened        UInt32 COMMENT 'of them reopened after a resolution',
    posts           UInt32 COMMENT 'posts about them',
    score           Float64 COMMENT 'incidents × trend factor × (1 + reopened share); docs/quality-control.md',
    example_title   String,
    example_url     String,
    computed_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY day
ORDER BY (day, region, municipality, place_key, sector);
