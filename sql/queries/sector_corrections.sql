-- Operators' sector corrections as labelled examples: the texts (masked) of the posts of every
-- corrected incident with the incident's latest corrected sector (tsur train-sectors
-- --with-corrections). Parameters: since (corrections at or after it).
WITH corrected AS (
    SELECT incident_id, argMax(sector, at) AS corrected_sector
    FROM incident_status_events FINAL
    WHERE sector != '' AND at >= {since:DateTime64(3, 'UTC')}
    GROUP BY incident_id
),
posts AS (
    SELECT DISTINCT post_id, incident_id FROM posts_enriched WHERE incident_id IN (SELECT incident_id FROM corrected)
)
SELECT r.post_id AS post_id, any(r.text) AS text, any(c.corrected_sector) AS sector
FROM posts AS p
INNER JOIN corrected AS c ON c.incident_id = p.incident_id
INNER JOIN posts_raw AS r ON r.post_id = p.post_id
GROUP BY r.post_id
ORDER BY r.post_id
