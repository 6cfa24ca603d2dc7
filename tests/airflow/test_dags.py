"""Every DAG imports; posts_daily runs for real (dag.test) against chDB through ClickHouseHook."""
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from intake.raw_post import COLUMNS, parse_raw_post
from warehouse.migrations import migrate
from warehouse.session import warehouse_session

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_dagbag_imports_without_errors():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert "posts_daily" in bag.dag_ids
    for dag_id in bag.dag_ids:
        dag = bag.dags[dag_id]
        assert dag.tags and "tsur" in dag.tags
        assert all(t.retry_exponential_backoff for t in dag.tasks), dag_id


def _seed(settings, day_posts: dict[str, int]):
    rows = []
    for day, n in day_posts.items():
        for i in range(n):
            p = parse_raw_post({"source": ["vk", "telegram"][i % 2], "id": f"{day}-{i}", "text": "нет света",
                                "created_at": f"{day}T12:00:00+03:00", "author_id": f"a{i % 5}",
                                "region_hint": "Ростовская область"}, settings.pseudonym_key)
            rows.append(p.row())
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        c.insert("posts_raw", rows, column_names=list(COLUMNS))


def _report(settings, day):
    with warehouse_session(settings.clickhouse_dsn) as c:
        return sorted(c.query("SELECT source, posts, authors FROM report_posts_daily FINAL WHERE day = {d:Date}",
                              parameters={"d": day}).result_rows)


def test_posts_daily_runs_for_real_and_is_idempotent(airflow_db, settings):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    _seed(settings, {"2026-11-19": 7, "2026-11-20": 10})
    dag = DagBag(dag_folder=str(DAGS)).dags["posts_daily"]
    run = dag.test(logical_date=datetime(2026, 11, 20, tzinfo=timezone.utc))
    assert run.state == DagRunState.SUCCESS
    expected = [("telegram", 5, 5), ("vk", 5, 5)]
    assert _report(settings, date(2026, 11, 20)) == expected
    assert _report(settings, date(2026, 11, 19)) == []
    run = dag.test(logical_date=datetime(2026, 11, 20, tzinfo=timezone.utc))  # re-run replaces the day
    assert run.state == DagRunState.SUCCESS
    assert _report(settings, date(2026, 11, 20)) == expected
