"""Every Grafana panel query (sql/dashboards/*.sql) and every analyst view runs against chDB with the
sample data and returns rows: a panel that fails or shows nothing on the sample is a failing test.

The Grafana ClickHouse plugin's macros are expanded as the plugin does (seconds since the epoch in
toDateTime), for a time range the sample covers; the region and sector variables get concrete values,
including the dashboard's "All" value for the sector (inserted by Grafana as is, unformatted)."""
import importlib.util
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from warehouse.migrations import MIGRATIONS_DIR
from warehouse.session import warehouse_session

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = ROOT / "sql" / "dashboards"
FROM = datetime(2026, 11, 18, tzinfo=timezone.utc)
TO = datetime(2026, 11, 21, tzinfo=timezone.utc)
INTERVAL_S = 3600
REGION = "Краснодарский край"
SECTORS = ["housing", None]          # None: the "All" option
VIEWS = re.findall(r"CREATE VIEW IF NOT EXISTS (\w+)", (MIGRATIONS_DIR / "0004_analyst_views.sql").read_text(encoding="utf-8"))


def generator():
    spec = importlib.util.spec_from_file_location("build_dashboards", ROOT / "deploy" / "grafana" / "build_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = generator()
PANEL_FIELDS = GEN.PANEL_FIELDS


def sqlstring(value: str) -> str:
    """Grafana's ``:sqlstring`` format of one value."""
    return "'" + value.replace("'", "''") + "'"


def expand(sql: str, region: str, sector: str | None) -> str:
    """The SQL as the plugin sends it to ClickHouse for the test's time range and variables."""
    start, end = int(FROM.timestamp()), int(TO.timestamp())
    sql = re.sub(r"\$__timeFilter\(([^()]+)\)",
                 lambda m: f"{m[1].strip()} >= toDateTime({start}) AND {m[1].strip()} <= toDateTime({end})", sql)
    sql = re.sub(r"\$__timeInterval\(([^()]+)\)",
                 lambda m: f"toStartOfInterval(toDateTime({m[1].strip()}), INTERVAL {INTERVAL_S} second)", sql)
    sql = sql.replace("$__fromTime", f"toDateTime({start})").replace("$__toTime", f"toDateTime({end})")
    sql = sql.replace("${region:sqlstring}", sqlstring(region))
    sql = sql.replace("${sector:sqlstring}", GEN.ALL_SECTORS_VALUE if sector is None else sqlstring(sector))
    assert "$" not in sql, f"a macro or variable the test does not expand: {sql}"
    return sql


@pytest.fixture(scope="module")
def client(sample_store):
    with warehouse_session(sample_store["dsn"]) as c:
        yield c


def test_expand_matches_the_plugin_format():
    sql = expand("SELECT 1 WHERE $__timeFilter(t) AND d <= toDate($__toTime) AND r = ${region:sqlstring} "
                 "AND ${sector:sqlstring} = 'all'", "O'Neil", None)
    assert sql == ("SELECT 1 WHERE t >= toDateTime(1794960000) AND t <= toDateTime(1795219200) "
                   "AND d <= toDate(toDateTime(1795219200)) AND r = 'O''Neil' AND 'all' = 'all'")


@pytest.mark.parametrize("sector", SECTORS, ids=["housing", "all-sectors"])
@pytest.mark.parametrize("name", sorted(p.stem for p in SQL_DIR.glob("*.sql")))
def test_dashboard_query_returns_rows(client, name, sector):
    sql = expand((SQL_DIR / f"{name}.sql").read_text(encoding="utf-8"), REGION, sector)
    result = client.query(sql, settings={"readonly": 1})
    assert result.result_rows, f"{name}.sql returns nothing on the sample (sector {sector})"
    if name in PANEL_FIELDS:
        assert list(result.column_names) == PANEL_FIELDS[name], "the panel spec in build_dashboards.py names other columns"


def test_sector_filter_narrows(client):
    def rows(name, sector):
        return client.query(expand((SQL_DIR / f"{name}.sql").read_text(encoding="utf-8"), REGION, sector)).result_rows

    assert {r[0] for r in rows("incidents_by_sector", "housing")} == {"housing"}
    assert len(rows("incidents_by_sector", None)) > 1
    assert rows("kpi_summary", "housing")[0][0] < rows("kpi_summary", None)[0][0]


def test_heatmap_cells_are_one_day_with_closed_polygons(client, sample_store):
    sql = expand((SQL_DIR / "heatmap_cells.sql").read_text(encoding="utf-8"), REGION, None)
    rows = list(client.query(sql).named_results())
    assert len({r["h3"] for r in rows}) == len(rows)
    assert {r["report_day"] for r in rows} == {sample_store["day"]}      # the last day not after the range end
    for r in rows[:20]:
        ring = json.loads(r["polygon_geojson"])["coordinates"][0]
        # a hexagon (6 vertices; up to 10 where a cell crosses an icosahedron edge), closed
        assert 7 <= len(ring) <= 11 and ring[0] == ring[-1]
        lon, lat = ring[0]
        assert abs(lat - r["lat"]) < 0.1 and abs(lon - r["lon"]) < 0.1     # [lon, lat] near the cell centre


@pytest.mark.parametrize("view", VIEWS)
def test_analyst_view_returns_rows(client, view):
    assert client.query(f"SELECT * FROM {view} LIMIT 10", settings={"readonly": 1}).result_rows, view


def test_analyst_views_agree_with_the_tables(client):
    def one(sql):
        return client.query(sql).result_rows[0]

    assert one("SELECT sum(incidents) FROM v_incidents_daily") == one("SELECT count() FROM incidents FINAL")
    assert one("SELECT sum(posts) FROM v_incidents_daily") == \
        one("SELECT uniqExact(post_id) FROM posts_enriched WHERE incident_id != ''")
    assert one("SELECT count(), uniqExact(incident_id) FROM v_response_times") == \
        one("SELECT count(), count() FROM incidents FINAL")
    assert one("SELECT min(hours_overdue) > 0, countIf(status IN ('resolved', 'rejected')) FROM v_open_overdue") == (1, 0)
    assert one("SELECT countIf(region = '' OR municipality = '') FROM v_tension_alerts") == (0,)
