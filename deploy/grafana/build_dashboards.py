"""Build the Grafana dashboard JSON from a compact panel spec and the SQL in sql/dashboards/.

Each panel's SQL lives in ``sql/dashboards/<name>.sql`` (Grafana ClickHouse macros such as
``$__timeFilter(col)``, ``$__toTime`` and the variables ``${region:sqlstring}``,
``${sector:sqlstring}``; its leading ``--`` comment is for developers and is left out of the
JSON). The JSON under deploy/grafana/dashboards/ is an output: edit the SQL or this spec and run

    python deploy/grafana/build_dashboards.py            # rewrite the JSON
    python deploy/grafana/build_dashboards.py --check    # exit 1 if the JSON is stale

tests/unit/test_grafana_dashboards.py fails when the committed JSON differs from this output.
Standard library only (json, pathlib, ast), so it runs anywhere.
"""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = ROOT / "sql" / "dashboards"
OUT_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": "tsur-clickhouse"}   # provisioning/datasources/clickhouse.yml
DASHBOARD_DS = {"type": "datasource", "uid": "-- Dashboard --"}                     # reuse another panel's result
DEFAULT_REGION = "Краснодарский край"
ALL_SECTORS = "all"       # report_heatmap_daily's sector for every sector; queries compare the variable to 'all'
# Variables are written ${name:sqlstring} (quoted, quotes escaped: a value from the URL cannot break
# out of the literal). Grafana inserts a custom "All" value as is, unformatted, so it is the quoted literal.
ALL_SECTORS_VALUE = f"'{ALL_SECTORS}'"

# Column → Russian header, shared by every panel (a column keeps its meaning across queries).
LABELS = {
    "sector": "Отрасль", "municipality": "Муниципальное образование", "settlement": "Населённый пункт",
    "new_incidents": "Новые инциденты", "open_incidents": "Не закрыты", "overdue_incidents": "Просрочены",
    "tension_alerts": "Сигналы напряжённости", "incidents": "Инциденты", "posts": "Сообщения",
    "first_seen": "Поступил", "title": "Суть", "status": "Статус", "responsible_body": "Ответственный орган",
    "next_deadline": "Срок", "hours_to_deadline": "До срока, ч", "posts_count": "Сообщений", "source_url": "Источник",
    "window_start": "Окно с", "window_end": "Окно по", "observed": "Жалоб за 3 ч", "expected": "Ожидалось за 3 ч",
    "received_7d": "Поступило за 7 дн.", "on_time_7d": "Ответ в срок", "late_7d": "Ответ с опозданием",
    "overdue_now_7d": "Просрочено сейчас", "resolved_7d": "Закрыто", "within_deadline_share": "Доля в срок",
    "report_day": "Отчётный день", "municipalities": "Муниципальных образований", "h3": "Ячейка H3",
    "lat": "Широта", "lon": "Долгота", "baseline": "Среднее за 28 дн.", "tension": "Напряжённость",
    "polygon_geojson": "Граница ячейки (GeoJSON)",
}
UNITS = {"hours_to_deadline": "h", "within_deadline_share": "percentunit", "tension": "none", "baseline": "none",
         "expected": "none"}
STATUS_RU = {"new": "новый", "assigned": "назначен", "answered": "дан ответ", "in_progress": "в работе",
             "resolved": "решён", "rejected": "отклонён", "reopened": "открыт повторно"}


def sector_names() -> dict[str, str]:
    """reports.heatmap.SECTOR_RU, read from the source (that module needs matplotlib; this script does not)."""
    tree = ast.parse((ROOT / "reports" / "heatmap.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SECTOR_RU" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("reports/heatmap.py has no literal SECTOR_RU; update build_dashboards.sector_names")


def read_sql(name: str) -> str:
    """The SQL as Grafana runs it: the file without its leading comment (the developers' notes)."""
    lines = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8").strip().splitlines()
    while lines and lines[0].startswith("--"):
        lines.pop(0)
    return "\n".join(lines).strip()


def value_mappings(names: dict[str, str]) -> list[dict]:
    return [{"type": "value", "options": {k: {"text": v, "index": i} for i, (k, v) in enumerate(names.items())}}]


def thresholds(*steps: tuple[str, float | None]) -> dict:
    return {"id": "thresholds", "value": {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}}


def overrides(fields: list[str], sectors: dict[str, str]) -> list[dict]:
    out = []
    for f in fields:
        props = [{"id": "displayName", "value": LABELS[f]}]
        if f in UNITS:
            props.append({"id": "unit", "value": UNITS[f]})
        if f == "within_deadline_share":     # red below 70 %, orange below 90 %
            props += [{"id": "decimals", "value": 0}, {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                      thresholds(("red", None), ("orange", 0.7), ("green", 0.9))]
        if f == "hours_to_deadline":         # red when overdue, orange in the last 8 hours
            props += [{"id": "custom.cellOptions", "value": {"type": "color-text"}},
                      thresholds(("red", None), ("orange", 0), ("green", 8))]
        if f == "sector":
            props.append({"id": "mappings", "value": value_mappings(sectors)})
        if f == "status":
            props.append({"id": "mappings", "value": value_mappings(STATUS_RU)})
        if f == "source_url":
            link = {"title": "Открыть источник", "url": "${__value.raw}", "targetBlank": True}
            props.append({"id": "links", "value": [link]})
        out.append({"matcher": {"id": "byName", "options": f}, "properties": props})
    return out


def target(sql: str, time_series: bool = False) -> dict:
    return {"refId": "A", "datasource": DATASOURCE, "editorType": "sql", "format": 0 if time_series else 1,
            "queryType": "timeSeries" if time_series else "table", "rawSql": sql}


# The spec: (SQL file or None, type, title, grid (x, y, w, h), the query's columns in order, extra).
# tests/integration/test_dashboard_sql.py checks the columns against each query's result.
PANELS = [
    ("kpi_summary", "stat", "Обстановка за период", (0, 0, 24, 4),
     ["new_incidents", "open_incidents", "overdue_incidents", "tension_alerts"],
     {"description": "Инциденты, впервые появившиеся за выбранный период: всего, не закрыты, из них просрочены сейчас; "
                     "сигналы напряжённости за период."}),
    ("incidents_timeline", "timeseries", "Новые инциденты по отраслям", (0, 4, 24, 8),
     ["time", "sector", "incidents"],
     {"interval": "1h", "description": "Новые инциденты по часам (или крупнее на длинном периоде) и отраслям."}),
    ("incidents_by_sector", "barchart", "Инциденты по отраслям", (0, 12, 10, 12),
     ["sector", "new_incidents", "open_incidents", "overdue_incidents"],
     {"description": "Инциденты за период по отраслям: всего, не закрыты, просрочены (первый ответ или решение)."}),
    ("incidents_by_municipality", "barchart", "Инциденты по муниципальным образованиям (30 с наибольшим числом)",
     (10, 12, 14, 12), ["municipality", "new_incidents", "open_incidents", "overdue_incidents"],
     {"horizontal": True, "description": "Инциденты за период по муниципальным образованиям; "
                                         "«не определено» — место известно только до региона."}),
    ("new_incidents", "table", "Новые инциденты: статус и время до срока", (0, 24, 16, 12),
     ["first_seen", "municipality", "settlement", "sector", "title", "status", "responsible_body", "next_deadline",
      "hours_to_deadline", "posts_count", "source_url"],
     {"description": "Последние 200 инцидентов периода. «До срока» — часы до первого ответа, пока его нет, затем до "
                     "решения; отрицательное — просрочено, пусто — закрыт."}),
    ("tension_alerts", "table", "Сигналы напряжённости", (16, 24, 8, 12),
     ["window_end", "municipality", "sector", "observed", "expected", "window_start"],
     {"description": "Всплеск жалоб одной отрасли в одном муниципальном образовании: жалоб за 3 часа против ожидаемого "
                     "по среднему за 28 дней."}),
    ("heatmap_cells", "geomap", "Тепловая карта: ячейки H3 (последний рассчитанный день)", (0, 36, 16, 14),
     ["h3", "lat", "lon", "municipality", "settlement", "incidents", "posts", "baseline", "tension", "polygon_geojson",
      "report_day"],
     {"description": "Ячейки H3 (разрешение 7) дневной тепловой карты за последний рассчитанный день не позже конца "
                     "периода: центр ячейки, цвет — напряжённость (инциденты + 1) / (среднее за 28 дней + 1), размер — "
                     "число инцидентов. Geomap не рисует полигоны из данных запроса; границы ячеек — в таблице рядом."}),
    (None, "table", "Ячейки H3 с границами (GeoJSON)", (16, 36, 8, 14),
     ["h3", "municipality", "settlement", "incidents", "tension", "polygon_geojson"],
     {"reuse": "heatmap_cells", "description": "Те же ячейки, что на карте, с границей каждой ячейки как GeoJSON-полигон "
                                              "(h3ToGeoBoundary): Inspect → Data → Download CSV для ГИС."}),
    ("sla_by_municipality", "table", "Соблюдение сроков по муниципальным образованиям (7 дней)", (0, 50, 12, 14),
     ["municipality", "received_7d", "on_time_7d", "late_7d", "overdue_now_7d", "resolved_7d", "within_deadline_share",
      "report_day"],
     {"description": "Из ежедневного отчёта о сроках (report_sla_daily) за последний рассчитанный день не позже конца "
                     "периода: 7 дней по этот день. Доля в срок = ответ в срок / (ответы + просроченные). "
                     "Фильтр по отрасли не применяется."}),
    ("sla_by_body", "table", "Соблюдение сроков по ответственным органам (7 дней)", (12, 50, 12, 14),
     ["responsible_body", "municipalities", "received_7d", "on_time_7d", "late_7d", "overdue_now_7d", "resolved_7d",
      "within_deadline_share", "report_day"],
     {"description": "То же по ответственным органам (по всем их муниципальным образованиям). "
                     "Фильтр по отрасли не применяется."}),
]
VARIABLE_SQL = {"region": "var_region"}


def panel(pid: int, spec: tuple, sectors: dict[str, str], ids: dict[str, int]) -> dict:
    name, kind, title, (x, y, w, h), fields, extra = spec
    shown = [f for f in fields if f in LABELS]
    out = {"id": pid, "type": kind, "title": title, "description": extra["description"],
           "gridPos": {"x": x, "y": y, "w": w, "h": h}}
    if name is not None:
        out.update(datasource=DATASOURCE, targets=[target(read_sql(name), kind == "timeseries")])
    else:   # the result of another panel, not a second query
        out.update(datasource=DASHBOARD_DS,
                   targets=[{"refId": "A", "datasource": DASHBOARD_DS, "panelId": ids[extra["reuse"]]}])
        out["transformations"] = [{"id": "organize", "options": {
            "excludeByName": {f: True for f in PANEL_FIELDS[extra["reuse"]] if f not in fields},
            "indexByName": {f: i for i, f in enumerate(fields)}}}]
    defaults: dict = {}
    if "interval" in extra:
        out["interval"] = extra["interval"]
    if kind == "stat":
        out["options"] = {"reduceOptions": {"values": False, "calcs": ["lastNotNull"], "fields": ""},
                          "colorMode": "value", "graphMode": "none", "textMode": "value_and_name", "justifyMode": "center",
                          "orientation": "horizontal"}
        defaults = {"color": {"mode": "thresholds"},
                    "thresholds": {"mode": "absolute", "steps": [{"color": "blue", "value": None}]}}
    elif kind == "timeseries":
        # Long-format rows (time, sector, incidents) become one series per sector; name them in Russian.
        defaults = {"custom": {"drawStyle": "bars", "stacking": {"mode": "normal"}, "fillOpacity": 80, "lineWidth": 1}}
        out["options"] = {"legend": {"displayMode": "list", "placement": "right", "showLegend": True},
                          "tooltip": {"mode": "multi", "sort": "desc"}}
        out["transformations"] = [{"id": "renameByRegex", "options": {"regex": f".*\\b{code}\\b.*", "renamePattern": ru}}
                                  for code, ru in sectors.items() if code != ALL_SECTORS]
        shown = []
    elif kind == "barchart":
        out["options"] = {"orientation": "horizontal" if extra.get("horizontal") else "auto", "xField": fields[0],
                          "showValue": "auto", "stacking": "none", "groupWidth": 0.7, "barWidth": 0.9,
                          "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                          "tooltip": {"mode": "multi", "sort": "none"}, "xTickLabelMaxLength": 24}
        defaults = {"color": {"mode": "palette-classic"}}
    elif kind == "table":
        out["options"] = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
        defaults = {"custom": {"align": "auto", "filterable": True}}
    elif kind == "geomap":
        # Geomap cannot draw polygons from query rows (its GeoJSON layer reads a static URL): H3 cells
        # are drawn at their centres, coloured by tension and sized by incidents; the boundaries are in
        # the cells table beside the map.
        location = {"mode": "coords", "latitude": "lat", "longitude": "lon"}
        out["options"] = {
            "view": {"id": "fit", "allLayers": True, "lat": 45.2, "lon": 39.0, "zoom": 7},
            "controls": {"showZoom": True, "mouseWheelZoom": True, "showAttribution": True, "showScale": True},
            "basemap": {"type": "default", "name": "Подложка", "config": {}},
            "layers": [
                {"type": "heatmap", "name": "Напряжённость (плотность)", "location": location, "tooltip": False,
                 "config": {"blur": 20, "radius": 12, "weight": {"field": "tension", "fixed": 1, "min": 0, "max": 1}}},
                {"type": "markers", "name": "Ячейки H3", "location": location, "tooltip": True,
                 "config": {"showLegend": True, "style": {
                     "color": {"field": "tension", "fixed": "dark-red"}, "opacity": 0.7,
                     "size": {"field": "incidents", "fixed": 6, "min": 5, "max": 25},
                     "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"}}}},
            ],
            "tooltip": {"mode": "details"},
        }
        defaults = {"color": {"mode": "continuous-GrYlRd"}}
        out["transformations"] = [{"id": "organize", "options": {"excludeByName": {"polygon_geojson": True}}}]
    out["fieldConfig"] = {"defaults": defaults, "overrides": overrides(shown, sectors)}
    return out


PANEL_FIELDS = {spec[0]: spec[4] for spec in PANELS if spec[0]}


def variables(sectors: dict[str, str]) -> list[dict]:
    region_sql = read_sql(VARIABLE_SQL["region"])
    sector_options = [(ru, code) for code, ru in sectors.items() if code != ALL_SECTORS]
    return [
        {"name": "region", "label": "Регион", "type": "query", "datasource": DATASOURCE, "query": region_sql,
         "definition": region_sql, "refresh": 1, "sort": 0, "multi": False, "includeAll": False,
         "current": {"text": DEFAULT_REGION, "value": DEFAULT_REGION}, "options": []},
        {"name": "sector", "label": "Отрасль", "type": "custom", "multi": False, "includeAll": True,
         "allValue": ALL_SECTORS_VALUE, "query": ", ".join(f"{ru} : {code}" for ru, code in sector_options),
         "current": {"text": "All", "value": "$__all"},
         "options": [{"text": "All", "value": "$__all", "selected": True}]
         + [{"text": ru, "value": code, "selected": False} for ru, code in sector_options]},
    ]


def dashboard() -> dict:
    sectors = sector_names()
    ids = {spec[0]: i for i, spec in enumerate(PANELS, start=1) if spec[0]}
    return {
        "uid": "tsur-live",
        "title": "ЦУР: обстановка, карта напряжённости, сроки",
        "description": "Generated by deploy/grafana/build_dashboards.py from sql/dashboards/*.sql; do not edit by hand.",
        "tags": ["tsur", "clickhouse"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": 41,
        "version": 1,
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": variables(sectors)},
        "panels": [panel(i, spec, sectors, ids) for i, spec in enumerate(PANELS, start=1)],
    }


def render() -> dict[str, str]:
    """File name → JSON text, as committed."""
    return {"tsur-live.json": json.dumps(dashboard(), ensure_ascii=False, indent=2) + "\n"}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in render().items():
        path = OUT_DIR / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"{path.relative_to(ROOT)} is stale: run python deploy/grafana/build_dashboards.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
