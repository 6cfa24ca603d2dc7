-- Posts of a batch that are already stored, with their incident (a replay keeps its incident).
SELECT post_id, any(incident_id)
FROM posts_enriched
WHERE post_id IN {ids:Array(String)}
GROUP BY post_id
