"""The production ClickHouse users (deploy/clickhouse/users.d/tsur-users.xml) are least-privilege,
their grants parse, they cover every table the migrations create, and docker-compose wires each
service to its own user with a password from the environment."""
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import chdb
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
USERS = ET.parse(ROOT / "deploy" / "clickhouse" / "users.d" / "tsur-users.xml").getroot()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
# Tables the reader must not see, with the reason.
HIDDEN_FROM_READERS = {
    "posts_raw": "texts and pseudonymous authors (personal data): the worker and report builders only",
    "api_keys": "hashes of API keys: the API only",
    "tsur_schema_migrations": "bookkeeping of migrations",
    "incident_days_mv": "a materialised view's trigger, not a table to read",
    "incident_cells_daily_mv": "a materialised view's trigger, not a table to read",
}
GRANT_RE = re.compile(r"^GRANT (?P<privs>[A-Z ,]+) ON default\.(?P<table>\w+)$")


def migration_tables() -> set[str]:
    """Tables and views the migrations leave: created, minus those a later migration drops (a rebuild's copy)."""
    names = set()
    for path in sorted((ROOT / "sql" / "migrations").glob("*.sql")):
        text = path.read_text()
        names |= set(re.findall(r"CREATE (?:TABLE|VIEW|MATERIALIZED VIEW) IF NOT EXISTS (\w+)", text))
        names -= set(re.findall(r"DROP TABLE IF EXISTS (\w+)", text))
    return names | {"tsur_schema_migrations"}


def grants(user: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for q in USERS.find(f"users/{user}/grants").findall("query"):
        m = GRANT_RE.match(q.text.strip())
        assert m, f"{user}: grant not in the expected form: {q.text}"
        out.setdefault(m["table"], set()).update(p.strip() for p in m["privs"].split(","))
    return out


USERS_NAMES = [u.tag for u in USERS.find("users")]


@pytest.mark.parametrize("user", USERS_NAMES)
def test_every_grant_parses_and_names_a_real_table(user):
    tables = migration_tables()
    for q in USERS.find(f"users/{user}/grants").findall("query"):
        chdb.query(f"EXPLAIN AST {q.text.strip()} TO {user}", "TSV")       # raises on a syntax error
    assert set(grants(user)) <= tables, f"{user} is granted tables that no migration creates"


@pytest.mark.parametrize("user", USERS_NAMES)
def test_passwords_come_from_the_environment(user):
    pw = USERS.find(f"users/{user}/password")
    assert pw is not None and pw.get("from_env") and not (pw.text or "").strip()
    env = COMPOSE["clickhouse"]["environment"]
    assert "${" in env[pw.get("from_env")], f"compose must pass {pw.get('from_env')} from the environment"


def test_least_privilege():
    assert {p for ps in grants("tsur_worker").values() for p in ps} <= {"SELECT", "INSERT"}
    collector = grants("tsur_collector")
    assert collector["posts_raw"] == {"SELECT"} and {t for t, ps in collector.items() if "INSERT" in ps} == {"collector_cursors", "post_deletions"}
    for user in ("tsur_reader", "tsur_api"):
        assert {p for ps in grants(user).values() for p in ps} == {"SELECT"}
        assert USERS.find(f"users/{user}/profile").text == "tsur_readonly"
    assert USERS.find("profiles/tsur_readonly/readonly").text == "2"
    for table, privs in grants("tsur_airflow").items():
        if privs - {"SELECT"}:
            assert table.startswith("report_") or table == "published_reports", f"airflow may change {table}"
    assert "posts_raw" not in grants("tsur_reader") and "api_keys" not in grants("tsur_reader")


def test_readers_see_every_other_table():
    missing = migration_tables() - set(grants("tsur_reader")) - set(HIDDEN_FROM_READERS)
    assert not missing, f"new tables/views without a reader grant (or a reason to hide them): {sorted(missing)}"


def test_services_use_their_own_users():
    assert "//tsur_worker:" in COMPOSE["tsur-worker"]["environment"]["TSUR_CLICKHOUSE_DSN"]
    assert "//tsur:" in COMPOSE["tsur-migrate"]["environment"]["TSUR_CLICKHOUSE_DSN"]
    assert '"login": "tsur_airflow"' in COMPOSE["airflow-scheduler"]["environment"]["AIRFLOW_CONN_TSUR_WAREHOUSE"]
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/clickhouse.yml").read_text())
    assert datasource["datasources"][0]["jsonData"]["username"] == "tsur_reader"
    mounts = COMPOSE["clickhouse"]["volumes"]
    assert any(m.endswith("/etc/clickhouse-server/users.d/tsur-users.xml:ro") for m in mounts)


def test_dashboard_service_reads_as_the_api_user():
    svc = COMPOSE["tsur-dashboard"]
    assert "//tsur_api:" in svc["environment"]["TSUR_CLICKHOUSE_DSN"] and svc["environment"]["TSUR_API_READ_KEY"] == "on"
    assert "tsur_schema_migrations" in grants("tsur_api"), "the dashboard checks the schema on start"
