"""The Grafana dashboards are generated from sql/dashboards/*.sql by deploy/grafana/build_dashboards.py:
the committed JSON must equal the generator's output, every SQL file must be used, and the wiring
(datasource uid, provisioning path, compose mount) must agree."""
import importlib.util
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"


def load_generator():
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_generator()


def test_committed_json_is_the_generator_output():
    rendered = gen.render()
    committed = {p.name for p in (GRAFANA / "dashboards").glob("*.json")}
    assert committed == set(rendered), "run python deploy/grafana/build_dashboards.py"
    for name, text in rendered.items():
        assert (GRAFANA / "dashboards" / name).read_text(encoding="utf-8") == text, \
            f"{name} was edited by hand or is stale: run python deploy/grafana/build_dashboards.py"


def test_every_sql_file_is_used_and_exists():
    used = {spec[0] for spec in gen.PANELS if spec[0]} | set(gen.VARIABLE_SQL.values())
    files = {p.stem for p in (ROOT / "sql" / "dashboards").glob("*.sql")}
    assert used == files


def test_panels_query_the_provisioned_datasource():
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "clickhouse.yml").read_text())["datasources"][0]
    dash = json.loads(next((GRAFANA / "dashboards").glob("*.json")).read_text(encoding="utf-8"))
    panel_ids = {p["id"] for p in dash["panels"]}
    assert len(panel_ids) == len(dash["panels"])
    for p in dash["panels"]:
        for t in p["targets"]:
            if "panelId" in t:                      # the result of another panel
                assert t["panelId"] in panel_ids and t["datasource"]["uid"] == "-- Dashboard --"
            else:
                assert t["datasource"] == {"type": ds["type"], "uid": ds["uid"]}
                assert t["editorType"] == "sql" and t["rawSql"].lstrip().upper().startswith(("SELECT", "WITH"))
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["region"]["datasource"]["uid"] == ds["uid"]
    assert variables["sector"]["allValue"] == "'all'" and variables["sector"]["includeAll"]


def test_sql_uses_only_the_macros_and_variables_the_dashboard_defines():
    names = {v["name"] for v in gen.variables(gen.sector_names())}
    for path in (ROOT / "sql" / "dashboards").glob("*.sql"):
        sql = path.read_text(encoding="utf-8")
        used = re.findall(r"\$\{(\w+)(:\w+)?\}", sql)
        assert {v for v, _ in used} <= names, path.name
        assert {fmt for _, fmt in used} <= {":sqlstring"}, f"{path.name}: write variables as ${{name:sqlstring}} (quoted, escaped)"
        assert set(re.findall(r"\$(__\w+)", sql)) <= {"__timeFilter", "__timeInterval", "__fromTime", "__toTime"}, path.name
        assert not re.search(r"\$[a-z]", sql), f"{path.name}: write variables as ${{name:sqlstring}}"
        assert not re.search(r"'\$\{", sql), f"{path.name}: :sqlstring quotes the value itself"


def test_provisioning_path_is_the_compose_mount():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "tsur.yml").read_text())["providers"][0]
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in grafana["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"


def test_every_column_has_a_russian_name_and_reused_columns_exist():
    for name, kind, title, _, fields, extra in gen.PANELS:
        if kind != "timeseries":
            assert set(fields) <= set(gen.LABELS), f"{title}: add the Russian names to LABELS"
        if "reuse" in extra:
            assert set(fields) <= set(gen.PANEL_FIELDS[extra["reuse"]]), title
