-- The confirmed position of every collected source (collector_cursors, newest version).
SELECT source_key, argMax(position, updated_at)
FROM collector_cursors
GROUP BY source_key
