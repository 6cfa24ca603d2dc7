"""posts_daily: count the day's raw posts per region and source (report_posts_daily).

Thin DAG: logic lives in reports.posts_daily; ClickHouse comes from warehouse.airflow_hook."""
from __future__ import annotations

from airflow.sdk import dag, task

from reports import posts_daily
from reports.dag_defaults import daily_dag_args, report_day
from warehouse.airflow_hook import hook_client


@dag(**daily_dag_args("posts_daily", "15 0 * * *", ["daily"], __doc__))
def posts_daily_dag():
    @task
    def build(logical_date=None) -> int:
        day = report_day(logical_date)
        with hook_client() as client:
            return posts_daily.build(client, day)

    @task
    def quality_check(rows: int, logical_date=None) -> dict:
        day = report_day(logical_date)
        with hook_client() as client:
            return posts_daily.check(client, day)

    quality_check(build())


posts_daily_dag()
