-- Where each collected source (a VK wall or search, a Telegram channel) was read up to, written by
-- `tsur collect` only after the worker stored every post it published up to that position
-- (docs/intake.md). Together with the newest stored post per source (collector_positions.sql)
-- it is where a restarted collector resumes: never past an unstored post, so no gap.
CREATE TABLE IF NOT EXISTS collector_cursors
(
    source_key  String COMMENT 'platform:kind:handle, e.g. vk:wall:-12345, telegram:channel:name',
    position    Int64 COMMENT 'the newest post id read (VK wall, Telegram), or Unix seconds (VK search)',
    updated_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY source_key;
