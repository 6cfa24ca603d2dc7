-- needs_review: the sector model was unsure of a post (calibrated sector confidence below
-- nlp.what.REVIEW_CONFIDENCE): an operator should check its sector. Stored per post and per
-- incident (from the post that opened it), shown by incident_current and the dashboard.

ALTER TABLE posts_enriched ADD COLUMN IF NOT EXISTS needs_review UInt8 DEFAULT 0 COMMENT 'sector confidence below the review threshold';
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS needs_review UInt8 DEFAULT 0 COMMENT 'the opening post needs a sector review';

-- incident_current as in 0002, plus the sector confidence and needs_review
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
