-- Posts that are no longer listed at their source (deleted or hidden by the community), noticed by
-- `tsur collect` when it reads a wall's recent window again (docs/intake.md). The post itself is
-- kept in posts_raw / posts_enriched: deleted is marked, never lost. Read with FINAL or by post_id.
CREATE TABLE IF NOT EXISTS post_deletions
(
    post_id         String COMMENT 'the deleted post (posts_raw.post_id)',
    source          LowCardinality(String),
    source_post_id  String,
    noticed_at      DateTime64(3, 'UTC') COMMENT 'when the collector saw it missing'
)
ENGINE = ReplacingMergeTree(noticed_at)
ORDER BY post_id;
