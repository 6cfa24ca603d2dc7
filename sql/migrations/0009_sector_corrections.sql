-- An operator's correction of an incident's sector travels as a status event with `sector` set
-- (`tsur incident update ID --sector S`, the Open311 status update's `sector` extension). The
-- worker re-routes the incident (a new version of its row: sector, responsible body, deadlines);
-- the event stays here as a labelled example (sql/queries/sector_corrections.sql,
-- `tsur train-sectors --with-corrections`).

ALTER TABLE incident_status_events ADD COLUMN IF NOT EXISTS sector LowCardinality(String) DEFAULT '' COMMENT 'an operator''s sector correction; empty = none';
