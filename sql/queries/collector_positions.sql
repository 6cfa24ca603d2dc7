-- The stored posts (with their time) and the newest stored comment per post of the collected sources since
-- {since}: one row per (source, owner, post). VK ids are <owner>_<post>[_<comment>], Telegram ids
-- <channel>/<message> (docs/intake.md).
SELECT
    source,
    if(source = 'telegram', splitByChar('/', source_post_id)[1], splitByChar('_', source_post_id)[1]) AS owner,
    toInt64OrZero(if(source = 'telegram', splitByChar('/', source_post_id)[2], splitByChar('_', source_post_id)[2])) AS post,
    max(length(splitByChar('_', source_post_id)) = 2 OR source = 'telegram') AS post_stored,
    max(toInt64OrZero(if(source = 'telegram', '', arrayElement(splitByChar('_', source_post_id), 3)))) AS last_comment,
    toInt64(toUnixTimestamp(minIf(created_at, length(splitByChar('_', source_post_id)) = 2 OR source = 'telegram'))) AS post_date
FROM posts_raw
WHERE source IN ('vk', 'telegram') AND created_at >= {since:DateTime64(3, 'UTC')}
GROUP BY source, owner, post
