-- Posts per region and source for one day (Europe/Moscow calendar day is the report day).
-- Parameters: day (Date), computed_at (DateTime64).
INSERT INTO report_posts_daily (day, region, source, posts, authors, computed_at)
SELECT
    {day:Date} AS day,
    if(region_hint = '', 'не определён', region_hint) AS region,
    source,
    uniqExact(post_id) AS posts,
    uniqExact(author_hash) AS authors,
    {computed_at:DateTime64(3, 'UTC')} AS computed_at
FROM posts_raw
WHERE toDate(created_at, 'Europe/Moscow') = {day:Date}
GROUP BY region, source
