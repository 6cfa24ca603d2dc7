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


def _seed_corrections(settings, texts: list[str], sector: str, tag: str):
    """Posts of one incident per text, each corrected by an operator to ``sector``."""
    from streams.status_events import STATUS_COLUMNS, parse_status_event

    raw, enriched, events = [], [], []
    for i, text in enumerate(texts):
        p = parse_raw_post({"source": "vk", "id": f"{tag}{i}", "text": text, "created_at": "2026-11-20T12:00:00+03:00",
                            "author_id": f"a{i}", "region_hint": "Ростовская область"}, settings.pseudonym_key)
        raw.append(p.row())
        enriched.append([p.post_id, f"inc-{tag}{i}"])
        events.append(parse_status_event({"incident_id": f"inc-{tag}{i}", "status": "assigned", "sector": sector,
                                          "at": "2026-11-20T13:00:00+03:00"}))
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        c.insert("posts_raw", raw, column_names=list(COLUMNS))
        c.insert("posts_enriched", enriched, column_names=["post_id", "incident_id"])
        c.insert("incident_status_events", events, column_names=list(STATUS_COLUMNS))


def test_weekly_retrain_publishes_a_model_that_learned_the_corrections_and_refuses_a_worse_one(airflow_db, settings, tmp_path):
    """retrain_sectors for real: corrections become training data; a candidate that scores worse on
    the centre's labelled set is not published (the task is skipped, the deployed model stays)."""
    import json
    import os

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState, TaskInstanceState

    from nlp import what

    dag = DagBag(dag_folder=str(DAGS)).dags["retrain_sectors"]
    roads = [f"На улице {s} огромные ямы на проезжей части, машины бьют подвеску, асфальт не ремонтировали {n} лет"
             for n, s in enumerate(["Школьной", "Садовой", "Мира", "Ленина", "Гагарина", "Заречной", "Лесной", "Полевой"], 2)]
    _seed_corrections(settings, roads, "roads", "r")
    assert not settings.sector_model.exists()
    run = dag.test(logical_date=datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert run.state == DagRunState.SUCCESS
    published = what.WhatModel.load(settings.sector_model)
    assert published.version != what.WhatModel.load().version and published.sector.info["n_train"] > \
        what.WhatModel.load().sector.info["n_train"]

    # operators (wrongly) call heating complaints 'transport'; the centre's own checked set says housing
    heating = [f"В доме {n} по улице {s} нет отопления, батареи холодные, в квартирах {t} градусов, управляющая компания молчит"
               for n, s, t in zip(range(1, 41), ["Мира", "Ленина", "Садовой", "Школьной"] * 10, range(10, 50))]
    _seed_corrections(settings, heating, "transport", "h")
    checked = tmp_path / "checked.jsonl"
    checked.write_text("\n".join(json.dumps({"text": f"В доме {n} по улице Лесной нет отопления, батареи холодные, в квартирах "
                                                     f"{n + 3} градусов, управляющая компания молчит", "sector": "housing"},
                                            ensure_ascii=False) for n in range(50, 60)), encoding="utf-8")
    before = settings.sector_model.read_bytes()
    os.environ["TSUR_SECTOR_EVAL"] = str(checked)
    try:
        run = dag.test(logical_date=datetime(2026, 11, 30, tzinfo=timezone.utc))
    finally:
        del os.environ["TSUR_SECTOR_EVAL"]
    (ti,) = run.get_task_instances()
    assert ti.state == TaskInstanceState.SKIPPED
    assert settings.sector_model.read_bytes() == before
