-- The oldest incidents of each municipality still without a first answer and past its deadline at
-- the end of a day (at most 15 per municipality: the "oldest overdue" table of the SLA report).
-- Written by sla_daily's build together with report_sla_daily, so that each municipality's report
-- task reads its slice by key instead of scanning incidents and status events again (44 scans of a
-- million incidents took 19 s of the 1 M bench).
CREATE TABLE IF NOT EXISTS report_sla_overdue
(
    day                 Date,
    region              LowCardinality(String),
    municipality        LowCardinality(String),
    incident_id         String,
    first_seen          DateTime64(3, 'UTC'),
    settlement          String,
    sector              LowCardinality(String),
    title               String,
    responsible_body    String,
    first_answer_due    Nullable(DateTime64(3, 'UTC')),
    source_url          String,
    computed_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY day
ORDER BY (day, region, municipality, incident_id);
