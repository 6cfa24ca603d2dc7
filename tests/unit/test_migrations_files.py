from warehouse.migrations import discover, split_statements


def test_split_statements_drops_comments():
    sql = "-- c\nCREATE TABLE a (x UInt8) ENGINE=Memory;\n\n-- only comment;\nSELECT 1;\n"
    assert split_statements(sql) == ["CREATE TABLE a (x UInt8) ENGINE=Memory", "SELECT 1"]


def test_migration_files_are_numbered_and_idempotent_ddl():
    migs = discover()
    assert migs and [m.version for m in migs] == sorted(m.version for m in migs)
    for m in migs:
        for stmt in m.statements():
            if stmt.upper().startswith("CREATE"):      # (a new version of a view replaces it: idempotent too)
                assert "IF NOT EXISTS" in stmt.upper() or stmt.upper().startswith("CREATE OR REPLACE VIEW"), \
                    f"{m.path.name}: {stmt[:60]}"


def test_schema_conventions():
    sql = "\n".join(m.sql for m in discover())
    for table in ("posts_raw", "incidents", "incident_status_events", "routing", "alerts", "report_posts_daily"):
        assert f"CREATE TABLE IF NOT EXISTS {table}" in sql
    assert "DateTime64(3, 'UTC')" in sql and "LowCardinality(String)" in sql
    assert "ReplacingMergeTree(updated_at)\nPARTITION BY toYYYYMM(first_seen)\nORDER BY incident_id" in sql
