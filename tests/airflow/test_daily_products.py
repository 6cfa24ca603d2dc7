"""heatmap_daily, sla_daily and regional_rollup run for real (dag.test) against chDB on a
realistic multi-day sample pushed through the stream's pure core; municipal heads get their
report by e-mail at a local SMTP sink."""
import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
DAGS = Path(__file__).resolve().parents[2] / "dags"
REGION = "Краснодарский край"
END = date(2026, 11, 20)


@pytest.fixture(scope="module")
def seeded(airflow_db, settings):
    from enrichment.enricher import Enricher
    from intake.sample import generate
    from streams.incident_builder import IncidentBuilder
    from streams.pipeline import enrich_batch, parse_batch
    from streams.routing import make_route
    from streams.status_events import STATUS_COLUMNS, parse_status_event
    from tsur.operator_simulator import status_events
    from warehouse.migrations import migrate
    from warehouse.session import warehouse_session

    posts = list(generate(REGION, 4, 3, per_day=120, end=END))
    now = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
    result = parse_batch(((json.dumps(p, ensure_ascii=False).encode(), 0, i) for i, p in enumerate(posts)), settings.pseudonym_key, now=now)
    enrich_batch(result, Enricher.load(), IncidentBuilder(), make_route(), now=now)
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        for table, rows, cols in result.warehouse_batches(now):
            c.insert(table, rows, column_names=list(cols))
        incidents = c.query("SELECT incident_id, first_seen, first_answer_due, resolution_due, responsible_body FROM incidents FINAL").result_rows
        events = [parse_status_event(json.dumps(e), now) for e in status_events(incidents, now)]
        c.insert("incident_status_events", events, column_names=list(STATUS_COLUMNS))
    return len(posts)


def _dag(dag_id):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS)).dags[dag_id]


def _run(dag_id, day):
    from airflow.utils.state import DagRunState

    run = _dag(dag_id).test(logical_date=datetime(day.year, day.month, day.day, tzinfo=timezone.utc))
    assert run.state == DagRunState.SUCCESS, dag_id
    return run


def _mapped(run, task_id) -> dict[str, str]:
    """{rendered map index: state} of a mapped task's instances in a DAG run."""
    return {ti.rendered_map_index: ti.state for ti in run.get_task_instances() if ti.task_id == task_id}


def _query(settings, sql, **params):
    from warehouse.session import warehouse_session

    with warehouse_session(settings.clickhouse_dsn) as c:
        return c.query(sql, parameters=params).result_rows


def test_all_dags_import():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert {"posts_daily", "heatmap_daily", "sla_daily", "regional_rollup", "regional_rollup_weekly", "chronic_problems",
            "resident_concerns", "resident_concerns_weekly"} <= set(bag.dag_ids)


def test_heatmap_sla_rollup_for_a_day_and_rerun_is_idempotent(seeded, settings, monkeypatch, tmp_path):
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    from tests.conftest import free_port

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_TSUR_SMTP", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                                                                   "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "tsur@example.org"}}))
        monkeypatch.setenv("TSUR_SMTP_CONN_ID", "tsur_smtp")
        runs = {dag_id: _run(dag_id, END) for dag_id in ("heatmap_daily", "sla_daily", "regional_rollup")}
    finally:
        controller.stop()
    monkeypatch.delenv("TSUR_SMTP_CONN_ID")   # the re-run below must not mail the heads a second time
    out = Path(os.environ["TSUR_DATA_DIR"]) / "reports" / REGION / END.isoformat()
    assert (out / "heatmap.png").stat().st_size > 10_000 and json.loads((out / "heatmap.geojson").read_text())["features"]
    assert list(out.glob("heatmap-*.png")) and list(out.glob("sla-*.pdf")) and list(out.glob("sla-*.xlsx"))
    assert (out / "rollup.pdf").read_bytes()[:4] == b"%PDF" and "Сводка ЦУР" in (out / "rollup.html").read_text()
    import shutil
    import subprocess

    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copy(out / "heatmap.png", artifacts / "heatmap-region.png")       # for a person to look at
    if shutil.which("pdftoppm"):
        for pdf, name in ((out / "rollup.pdf", "rollup-page"), (sorted(out.glob("sla-*.pdf"))[0], "sla-page")):
            subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "2", str(pdf), str(artifacts / name)], check=True)
    products = dict(_query(settings, "SELECT product, count() FROM published_reports FINAL WHERE day = {d:Date} GROUP BY product", d=END))
    assert set(products) == {"heatmap", "sla", "rollup"}
    # one mapped task instance per municipality (named after it), each listing its own three files
    munis = {m for (m,) in _query(settings, "SELECT DISTINCT municipality FROM report_sla_daily FINAL WHERE day = {d:Date} AND municipality != ''", d=END)}
    reports = _mapped(runs["sla_daily"], "report")
    assert len(munis) > 1 and set(reports) == munis and set(reports.values()) == {"success"}
    assert products["sla"] == 3 * len(munis) == 3 * len(list(out.glob("sla-*.pdf")))
    maps = _mapped(runs["heatmap_daily"], "draw")
    assert REGION in maps and len(maps) == 1 + len(list(out.glob("heatmap-*.png"))) and set(maps.values()) == {"success"}
    # e-mail: every municipality of the recipients file that has a report got it, with the PDF and XLSX attached
    assert sink.messages, "no e-mail reached the SMTP sink"
    import email

    msg = email.message_from_bytes(sink.messages[0].content)
    names = sorted(part.get_filename() for part in msg.walk() if part.get_filename())
    assert any(n.endswith(".pdf") for n in names) and any(n.endswith(".xlsx") for n in names)
    # re-running the day replaces rows and files instead of adding to them
    before = _query(settings, "SELECT count(), sum(incidents) FROM report_heatmap_daily FINAL WHERE day = {d:Date}", d=END)
    sla_before = _query(settings, "SELECT count(), sum(received) FROM report_sla_daily FINAL WHERE day = {d:Date}", d=END)
    _run("heatmap_daily", END)
    _run("sla_daily", END)
    assert _query(settings, "SELECT count(), sum(incidents) FROM report_heatmap_daily FINAL WHERE day = {d:Date}", d=END) == before
    assert _query(settings, "SELECT count(), sum(received) FROM report_sla_daily FINAL WHERE day = {d:Date}", d=END) == sla_before
    assert dict(_query(settings, "SELECT product, count() FROM published_reports FINAL WHERE day = {d:Date} GROUP BY product", d=END)) == products


def test_quality_check_fails_a_day_without_input(seeded):
    from airflow.utils.state import DagRunState

    run = _dag("heatmap_daily").test(logical_date=datetime(2026, 10, 1, tzinfo=timezone.utc))
    assert run.state == DagRunState.FAILED


def test_deadline_alerts_are_configurable_and_callbacks_work(monkeypatch):
    import asyncio

    from reports import dag_defaults
    from reports.alerting import notify_failure, notify_late_run

    monkeypatch.delenv("TSUR_DEADLINE_ALERTS", raising=False)
    assert dag_defaults.deadline("sla_daily") is None
    monkeypatch.setenv("TSUR_DEADLINE_ALERTS", "on")
    monkeypatch.setenv("TSUR_DAG_DEADLINE_MINUTES", "90")
    alert = dag_defaults.deadline("sla_daily")
    assert alert.interval == timedelta(minutes=90) and alert.callback.kwargs == {"dag_id": "sla_daily"}
    assert asyncio.run(notify_late_run(dag_id="sla_daily")) == "DAG sla_daily: run is late"
    assert "failed" in notify_failure({"ds": "2026-11-20", "exception": "boom"})


def _sla_snapshot(settings, day, out: Path) -> dict:
    """What a run of sla_daily leaves: table rows (without computation times), the published list,
    and the files' contents (the 'generated at' stamp removed)."""
    import re

    import openpyxl

    rows = _query(settings, "SELECT * EXCEPT computed_at FROM report_sla_daily FINAL WHERE day = {d:Date} "
                            "ORDER BY municipality, responsible_body", d=day)
    listed = _query(settings, "SELECT scope, path FROM published_reports FINAL WHERE day = {d:Date} AND product = 'sla' "
                              "ORDER BY scope, path", d=day)
    stamp = re.compile(r"Сформировано [0-9.: ]+ \(МСК\)")
    files = {}
    for path in sorted(out.glob("sla-*")):
        if path.suffix == ".html":
            files[path.name] = stamp.sub("", path.read_text())
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            files[path.name] = [[stamp.sub("", str(c)) for c in row] for ws in book for row in ws.iter_rows(values_only=True)]
        else:
            files[path.name] = path.read_bytes()[:4]
    return {"rows": rows, "listed": listed, "files": files}


def test_a_task_failing_midway_then_rerun_gives_what_a_clean_run_gives(seeded, settings, monkeypatch):
    """sla_daily fails in its last task after the tables were built and some files written (the
    mail server refuses); the re-run of that logical date must converge to a clean run's output."""
    import shutil

    from airflow.utils.state import DagRunState

    from tests.conftest import free_port
    from tests.reliability import record

    day = END - timedelta(days=1)
    out = Path(os.environ["TSUR_DATA_DIR"]) / "reports" / REGION / day.isoformat()
    closed = free_port()                                     # nothing listens there: the SMTP send fails
    monkeypatch.setenv("AIRFLOW_CONN_TSUR_SMTP_DOWN", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": closed,
                                                                   "extra": {"disable_tls": True, "disable_ssl": True}}))
    monkeypatch.setenv("TSUR_SMTP_CONN_ID", "tsur_smtp_down")
    run = _dag("sla_daily").test(logical_date=datetime(day.year, day.month, day.day, tzinfo=timezone.utc))
    assert run.state == DagRunState.FAILED
    assert list(out.glob("sla-*.html")), "the failure must come after files were written (mid-way)"
    monkeypatch.delenv("TSUR_SMTP_CONN_ID")
    _run("sla_daily", day)                                   # the re-run of the failed logical date
    after_failure = _sla_snapshot(settings, day, out)

    shutil.rmtree(out)                                       # a clean run: no files, no rows for the day
    from warehouse.session import warehouse_session

    with warehouse_session(settings.clickhouse_dsn) as c:
        c.command("DELETE FROM report_sla_daily WHERE day = {d:Date}", parameters={"d": day})
        c.command("DELETE FROM published_reports WHERE day = {d:Date} AND product = 'sla'", parameters={"d": day})
    _run("sla_daily", day)
    clean = _sla_snapshot(settings, day, out)
    assert after_failure["rows"] and after_failure["files"]
    assert after_failure == clean
    record("Airflow task failed mid-way", produced=len(clean["rows"]), stored=len(after_failure["rows"]), lost=0, double=0,
           note=f"re-run equals a clean run: {len(clean['rows'])} SLA rows, {len(clean['files'])} files")


def test_resident_concerns_daily_and_weekly_editions(seeded, settings):
    """What worries residents, both editions, on the seeded sample (its 'no water' burst in Южный)."""
    for dag_id in ("resident_concerns", "resident_concerns_weekly"):
        _run(dag_id, END)
    out = Path(os.environ["TSUR_DATA_DIR"]) / "reports" / REGION / END.isoformat()
    for name in ("concerns", "concerns-7d"):
        assert (out / f"{name}.pdf").read_bytes()[:4] == b"%PDF" and (out / f"{name}.xlsx").exists()
        html = (out / f"{name}.html").read_text(encoding="utf-8")
        assert "Что волнует жителей" in html and "Главные темы" in html and "На 10 000 жителей" in html
    products = dict(_query(settings, "SELECT product, count() FROM published_reports FINAL WHERE day = {d:Date} GROUP BY product", d=END))
    assert products["concerns"] == 3 and products["concerns_weekly"] == 3
