-- Which of the posts a collector published are stored by now.
SELECT DISTINCT post_id
FROM posts_raw
WHERE post_id IN {ids:Array(String)}
