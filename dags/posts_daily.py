"""posts_daily: count the day's raw posts per region and source (report_posts_daily).

Thin DAG: logic lives in reports.posts_daily; ClickHouse comes from warehouse.airflow_hook."""
from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from reports.dag_defaults import DEFAULT_ARGS, catchup
from reports import posts_daily
from warehouse.airflow_hook import hook_client


@dag(
    dag_id="posts_daily",
    # data-interval semantics: the run for day D (logical date D) starts after D ends
    schedule=CronDataIntervalTimetable("15 0 * * *", timezone="Europe/Moscow"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Moscow"),
    catchup=catchup(),
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["tsur", "daily"],
    doc_md=__doc__,
)
def posts_daily_dag():
    @task
    def build(ds=None) -> int:
        day = pendulum.parse(ds).date()
        with hook_client() as client:
            return posts_daily.build(client, day)

    @task
    def quality_check(rows: int, ds=None) -> dict:
        day = pendulum.parse(ds).date()
        with hook_client() as client:
            return posts_daily.check(client, day)

    quality_check(build())


posts_daily_dag()
