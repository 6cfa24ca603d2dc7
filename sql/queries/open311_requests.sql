-- Open311 GET requests.json: the ids of incidents first seen in [start, end), newest first, with
-- the optional filters of the GeoReport v2 query (empty string / 0 = no filter): jurisdiction
-- (region), service_code (sectors, any of), status (open | closed, from the latest status event) and a
-- bounding box on the incident's coordinates. Details come from incident_details.sql.
-- Parameters: day_from, day_to (Moscow days covering the range), start, end, region, sectors,
-- status, use_bbox, min_lon, min_lat, max_lon, max_lat, limit, offset.
WITH candidates AS
(
    SELECT incident_id, max(first_seen) AS requested_at
    FROM incident_days
    WHERE day BETWEEN {day_from:Date} AND {day_to:Date}
      AND first_seen >= {start:DateTime64(3, 'UTC')} AND first_seen < {end:DateTime64(3, 'UTC')}
      AND ({region:String} = '' OR region = {region:String})
      AND (empty({sectors:Array(String)}) OR has({sectors:Array(String)}, sector))
      AND (NOT {use_bbox:Bool} OR (lon BETWEEN {min_lon:Float64} AND {max_lon:Float64}
                                   AND lat BETWEEN {min_lat:Float64} AND {max_lat:Float64}))
    GROUP BY incident_id
)
SELECT c.incident_id AS incident_id
FROM candidates AS c
LEFT JOIN
(
    SELECT incident_id, argMax(status, at) AS current_status
    FROM incident_status_events
    WHERE {status:String} != '' AND incident_id IN (SELECT incident_id FROM candidates)
    GROUP BY incident_id
) AS s ON s.incident_id = c.incident_id
WHERE {status:String} = ''
   OR ({status:String} = 'closed') = (s.current_status IN ('resolved', 'rejected'))
ORDER BY c.requested_at DESC, c.incident_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
