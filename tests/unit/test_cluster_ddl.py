"""The cluster DDL (warehouse/cluster_ddl.py, `tsur cluster-ddl`) is generated from the migration
files, parses with chDB, places every table (local + Distributed, or a copy on every node), leaves no
plain MergeTree engine, shards by existing columns, points materialised views at local tables, and
refuses any statement shape it does not know.

chDB has no cluster (no remote_servers, no Keeper), so the statements are parsed, not executed.
``EXPLAIN AST`` accepts ON CLUSTER, Replicated* engines with macros and Distributed, but its tree
shows neither the ON CLUSTER clause nor a materialised view's TO table; those two are checked on
chDB's own re-formatting of the statement (formatQuerySingleLine), which does keep them."""
import re
import shutil
from pathlib import Path

import chdb
import pytest

from warehouse import retention
from warehouse.cluster_ddl import (LAYOUT, LEDGER, Ast, ClusterDDLError, chdb_explain, render, render_sql)
from warehouse.migrations import MIGRATIONS_DIR, MigrationError, discover, migrate, split_statements

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def statements():
    return render()


def formatted(sql: str) -> str:
    literal = "'" + sql.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return chdb.query(f"SELECT formatQuerySingleLine({literal})", "TabSeparatedRaw").bytes().decode().strip()


def migration_tables() -> set[str]:
    text = "\n".join(m.sql for m in discover())
    return set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", text)) | {LEDGER}


def by_kind(statements, kind):
    return {s.name: s for s in statements if s.kind == kind}


def test_every_statement_parses_with_chdb(statements):
    assert len(statements) > 40
    for s in statements:
        tree = Ast(chdb_explain(s.sql))                       # raises on a syntax error
        text = formatted(s.sql)
        if s.kind in ("local table", "distributed table", "replicated table", "view", "materialized view", "alter"):
            assert "ON CLUSTER" in text, s.sql
        if s.kind in ("local table", "replicated table"):
            assert tree.engine().startswith("Replicated"), s.sql
            assert re.search(r"ENGINE = Replicated\w+\('/clickhouse/tables/(\{shard\}|all)/\{database\}/\w+', '[{}a-z-]+'", text), text


def test_every_migration_table_is_placed(statements):
    tables = migration_tables()
    assert set(LAYOUT) == tables, "LAYOUT must list exactly the tables the migrations create"
    local, dist, repl = (by_kind(statements, k) for k in ("local table", "distributed table", "replicated table"))
    for table in sorted(tables):
        if LAYOUT[table].sharding_key:
            assert f"{table}_local" in local and table in dist and table not in repl, table
            tree = Ast(chdb_explain(dist[table].sql))
            assert tree.engine() == "Distributed" and f"Literal '{table}_local'" in [t for _, t in tree.lines], table
        else:
            assert table in repl and table not in dist and f"{table}_local" not in local, table
        assert LAYOUT[table].reason.strip(), f"{table}: say why it is placed so"


def test_no_plain_mergetree_engine_remains(statements):
    text = render_sql()
    for s in statements:
        if s.kind.endswith("table"):
            engine = Ast(chdb_explain(s.sql)).engine()
            assert engine == "Distributed" or (engine.startswith("Replicated") and engine.endswith("MergeTree")), s.sql
    assert not re.search(r"ENGINE\s*=\s*(?!Replicated|Distributed)\w+", text)


def test_sharding_keys_reference_existing_columns(statements):
    local = by_kind(statements, "local table")
    for name, s in by_kind(statements, "distributed table").items():
        columns = set(Ast(chdb_explain(local[f"{name}_local"].sql)).columns())
        key = Ast(chdb_explain(f"SELECT {LAYOUT[name].sharding_key}")).identifiers()
        assert key and set(key) <= columns, f"{name}: sharding key {LAYOUT[name].sharding_key} vs {sorted(columns)}"
        assert s.sql.rstrip().endswith(f"'{name}_local', {LAYOUT[name].sharding_key})")


def test_materialized_views_read_and_write_local_tables(statements):
    views = by_kind(statements, "materialized view")
    assert {"incident_days_mv", "incident_cells_daily_mv"} <= set(views)
    for name, s in views.items():
        target = re.search(r" TO (\w+) ", formatted(s.sql).replace("`", "")).group(1)
        sources = Ast(chdb_explain(s.sql)).tables()
        assert target.endswith("_local") and LAYOUT[target.removesuffix("_local")].sharding_key, s.sql
        assert sources and all(t.endswith("_local") for t in sources), s.sql
        # a view writes on the shard of the source row; the back-fill routes by the target's key
        assert {LAYOUT[t.removesuffix("_local")].sharding_key for t in sources} == {LAYOUT[target.removesuffix("_local")].sharding_key}


def test_views_and_backfills_keep_their_text(statements):
    originals = {stmt for m in discover() for stmt in split_statements(m.sql)}
    for s in statements:
        if s.kind == "view":
            assert s.sql.replace(" ON CLUSTER '{cluster}'", "", 1) in originals
        if s.kind == "insert":
            assert s.sql in originals


def test_ledger_rows_record_every_migration(statements):
    rows = [s.sql for s in statements if s.kind == "ledger row"]
    assert [int(re.search(r"SELECT (\d+),", r).group(1)) for r in rows] == [m.version for m in discover()]
    for m, row in zip(discover(), rows):
        assert f"'{m.name}', '{m.checksum}'" in row
    assert statements[0].kind == "replicated table" and statements[0].name == LEDGER     # created before anything else


def test_rendering_is_deterministic_and_parameterised():
    assert render_sql() == render_sql()
    named = render_sql(cluster="tsur_prod", database="tsur")
    assert "'{cluster}'" not in named and "ON CLUSTER 'tsur_prod'" in named
    assert "Distributed('tsur_prod', 'tsur', 'incidents_local', cityHash64(region))" in named
    later = render(after=6)
    assert {s.source for s in later} == {"ledger", "0007_cell_aggregates.sql", "0008_needs_review.sql", "0009_sector_corrections.sql",
                                         "0010_collector_cursors.sql", "0011_post_deletions.sql",
                                         "0012_sla_overdue.sql", "0013_stage_two.sql", "0014_heatmap_by_month.sql"}
    # a new version of a view replaces it ON CLUSTER
    (view,) = [s for s in later if s.source == "0008_needs_review.sql" and s.kind == "view"]
    assert view.sql.startswith("CREATE OR REPLACE VIEW incident_current ON CLUSTER")
    with pytest.raises(ClusterDDLError):
        render(cluster="x' ON CLUSTER y")
    with pytest.raises(ClusterDDLError):
        render(database="a.b")


def test_a_table_rebuild_swaps_and_drops_on_cluster(statements):
    rebuild = [s for s in statements if s.source == "0014_heatmap_by_month.sql"]
    assert [s.kind for s in rebuild] == ["replicated table", "insert", "exchange", "drop", "ledger row"]
    created, _, swap, drop, _ = rebuild
    assert "PARTITION BY toYYYYMM(day)" in created.sql and "/clickhouse/tables/all/{database}/report_heatmap_daily_by_month" in created.sql
    assert swap.sql == "EXCHANGE TABLES report_heatmap_daily AND report_heatmap_daily_by_month ON CLUSTER '{cluster}'"
    assert drop.sql == "DROP TABLE IF EXISTS report_heatmap_daily_by_month ON CLUSTER '{cluster}' SYNC"


def test_a_sharded_rebuild_swaps_the_local_tables(tmp_path, monkeypatch):
    from warehouse import cluster_ddl

    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "0999_future.sql").write_text(
        "CREATE TABLE IF NOT EXISTS alerts_by_month (alert_id String, day Date) ENGINE = MergeTree ORDER BY alert_id;\n"
        "CREATE TABLE IF NOT EXISTS alerts_by_day (alert_id String, day Date) ENGINE = MergeTree ORDER BY alert_id;\n"
        "EXCHANGE TABLES alerts_by_day AND alerts_by_month;\n"
        "DROP TABLE IF EXISTS alerts_by_month;\n"
        "INSERT INTO alerts_by_month SELECT alert_id, day FROM alerts_by_day;\n", encoding="utf-8")
    for name in ("alerts_by_month", "alerts_by_day"):
        monkeypatch.setitem(cluster_ddl.LAYOUT, name, cluster_ddl.Placement("cityHash64(alert_id)", "a test"))
    with pytest.raises(ClusterDDLError, match="alerts_by_month, which no earlier migration creates"):
        render(directory=tmp_path)          # the INSERT after the drop names a table that is gone
    text = (tmp_path / "0999_future.sql").read_text(encoding="utf-8")
    (tmp_path / "0999_future.sql").write_text(text.rsplit("INSERT", 1)[0], encoding="utf-8")
    future = [s for s in render(directory=tmp_path) if s.source == "0999_future.sql"]
    assert [(s.kind, s.name) for s in future[4:]] == [
        ("exchange", "alerts_by_day_local"), ("drop", "alerts_by_month"), ("drop", "alerts_by_month_local"), ("ledger row", LEDGER)]
    assert future[4].sql == "EXCHANGE TABLES alerts_by_day_local AND alerts_by_month_local ON CLUSTER '{cluster}'"
    for s in future:
        Ast(chdb_explain(s.sql))            # parses


def test_a_swap_of_a_table_an_alter_changed_is_refused(tmp_path):
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "0999_future.sql").write_text("EXCHANGE TABLES report_sla_daily AND report_heatmap_daily;\n", encoding="utf-8")
    with pytest.raises(ClusterDDLError, match=r"\['report_sla_daily'\] had columns changed by ALTER"):
        render(directory=tmp_path)


def test_the_documented_layout_is_the_layout():
    doc = (ROOT / "docs" / "cluster.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in doc.splitlines()
            if line.startswith("| `")}
    for table, placement in LAYOUT.items():
        row = next((key for names, key in rows.items() if f"`{table}`" in names), None)
        assert row is not None, f"docs/cluster.md has no row for {table}"
        assert row == (f"`{placement.sharding_key}`" if placement.sharding_key else "—"), table


def test_cli_prints_the_cluster_ddl(capsys):
    from tsur.cli import main

    assert main(["cluster-ddl", "--cluster", "tsur", "--database", "tsur", "--after", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("-- The tsur schema for a ClickHouse cluster") and "ON CLUSTER 'tsur'" in out
    assert "0006_incident_days.sql" in out and "0005_api_keys.sql" not in out


UNKNOWN_SHAPES = {
    "a table without a placement": "CREATE TABLE IF NOT EXISTS brand_new (x UInt8) ENGINE = MergeTree ORDER BY x",
    "an engine it cannot replicate": "CREATE TABLE IF NOT EXISTS brand_new (x UInt8) ENGINE = Memory",
    "an engine already replicated": "CREATE TABLE IF NOT EXISTS brand_new (x UInt8) "
                                    "ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY x",
    "CREATE TABLE … AS": "CREATE TABLE IF NOT EXISTS brand_new AS incidents",
    "a database-qualified table": "CREATE TABLE IF NOT EXISTS other.brand_new (x UInt8) ENGINE = MergeTree ORDER BY x",
    "a statement already ON CLUSTER": "CREATE VIEW IF NOT EXISTS v_new ON CLUSTER c AS SELECT 1",
    "a DROP without IF EXISTS": "DROP TABLE alerts",
    "a DROP of a view": "DROP TABLE IF EXISTS incident_current",
    "a DROP of an unknown table": "DROP TABLE IF EXISTS nowhere",
    "an EXCHANGE of a sharded and a replicated table": "EXCHANGE TABLES alerts AND routing",
    "an EXCHANGE of tables with other columns": "EXCHANGE TABLES report_sla_daily AND report_posts_daily",
    "an EXCHANGE of a view": "EXCHANGE TABLES incident_current AND incidents",
    "an EXCHANGE of a table an ALTER changed": "EXCHANGE TABLES report_sla_daily AND report_heatmap_daily",
    "RENAME": "RENAME TABLE alerts TO alerts_old",
    "OPTIMIZE": "OPTIMIZE TABLE incidents FINAL",
    "a view of an unknown table": "CREATE VIEW IF NOT EXISTS v_new AS SELECT * FROM nowhere",
    "a view without IF NOT EXISTS": "CREATE VIEW v_new AS SELECT * FROM incidents",
    "a materialised view with its own engine": "CREATE MATERIALIZED VIEW IF NOT EXISTS mv_new ENGINE = MergeTree ORDER BY x "
                                               "AS SELECT 1 AS x FROM incidents",
    "a materialised view with a JOIN": "CREATE MATERIALIZED VIEW IF NOT EXISTS mv_new TO incident_days AS SELECT i.region AS region "
                                       "FROM incidents AS i LEFT JOIN routing AS r ON r.region = i.region",
    "a materialised view across sharding keys": "CREATE MATERIALIZED VIEW IF NOT EXISTS mv_new TO alerts AS "
                                                "SELECT incident_id AS alert_id FROM incidents",
    "a materialised view from a sharded to a replicated table": "CREATE MATERIALIZED VIEW IF NOT EXISTS mv_new TO routing "
                                                                "AS SELECT region FROM incidents",
    "a mutation": "ALTER TABLE incidents DELETE WHERE region = ''",
    "a non-idempotent ADD COLUMN": "ALTER TABLE incidents ADD COLUMN x String",
    "mixed ALTER commands": "ALTER TABLE incidents ADD COLUMN IF NOT EXISTS x String, MODIFY TTL toDate(first_seen) + 30",
    "an ALTER of a view": "ALTER TABLE incident_current ADD COLUMN IF NOT EXISTS x String",
    "an INSERT into a view": "INSERT INTO incident_current SELECT * FROM incidents",
    "an INSERT from a table function": "INSERT INTO routing SELECT * FROM url('http://x', CSV)",
    "a syntax error": "CREATE TABLE IF NOT EXISTS brand_new (x UInt8 ENGINE = MergeTree ORDER BY x",
}


@pytest.mark.parametrize("what", sorted(UNKNOWN_SHAPES))
def test_a_statement_of_unknown_shape_raises(tmp_path, what):
    stmt = UNKNOWN_SHAPES[what]
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "0999_future.sql").write_text(f"-- {what}\n{stmt};\n", encoding="utf-8")
    with pytest.raises(ClusterDDLError) as err:
        render(directory=tmp_path)
    assert "0999_future.sql" in str(err.value) and stmt in str(err.value)


def test_layout_mistakes_are_refused(tmp_path, monkeypatch):
    from warehouse import cluster_ddl

    monkeypatch.setitem(cluster_ddl.LAYOUT, "alerts", cluster_ddl.Placement("cityHash64(no_such_column)", "a typo"))
    with pytest.raises(ClusterDDLError, match="no_such_column"):
        render()


class FakeClient:
    """Answers what retention and migrate ask of a cluster node: `incidents` is Distributed."""

    def __init__(self):
        self.commands = []

    class _Result:
        def __init__(self, rows):
            self.result_rows = rows

    def query(self, sql, parameters=None):
        table = (parameters or {}).get("t", "")
        if "engine_full" in sql:
            if table.endswith("_local"):
                return self._Result([("ReplicatedReplacingMergeTree", "ReplicatedReplacingMergeTree('/p', '{replica}')")])
            return self._Result([("Distributed", f"Distributed('tsur', 'default', '{table}_local', cityHash64(region))")])
        if "create_table_query" in sql:
            return self._Result([(f"CREATE TABLE default.{table} (x UInt8) ENGINE = ReplicatedReplacingMergeTree ORDER BY x",)])
        if "argMax(checksum" in sql:
            return self._Result([])
        raise AssertionError(sql)

    def command(self, sql, parameters=None, settings=None):
        self.commands.append(sql)
        if sql.startswith("EXISTS TABLE"):
            return "1"
        if "SELECT engine FROM system.tables" in sql:
            return "ReplicatedReplacingMergeTree"
        return None


def test_retention_alters_the_local_tables_on_a_cluster():
    client = FakeClient()
    days = {"raw": 180, "enriched": 0, "incidents": 1825}
    changed = retention.apply(client, days, log=lambda m: None)
    assert changed == [r.table for r in retention.RULES if days[r.kind]] and "posts_enriched" not in changed
    assert "ALTER TABLE posts_raw_local ON CLUSTER 'tsur' MODIFY TTL created_at + toIntervalDay(180)" in client.commands
    assert all(" ON CLUSTER 'tsur' " in c and "_local " in c for c in client.commands)


def test_migrate_refuses_single_node_ddl_on_a_cluster():
    client = FakeClient()
    with pytest.raises(MigrationError, match="tsur cluster-ddl --after 0"):
        migrate(client, log=lambda m: None)
    assert not any(c.startswith(("CREATE", "ALTER", "INSERT")) for c in client.commands)
