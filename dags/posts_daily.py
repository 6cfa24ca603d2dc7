"""posts_daily: count the day's raw posts per region and source (report_posts_daily).

Thin DAG: logic lives in reports.posts_daily; ClickHouse comes from warehouse.airflow_hook."""
from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from reports import posts_daily
from reports.dag_defaults import daily_dag_args
from warehouse.airflow_hook import hook_client


@dag(**daily_dag_args("posts_daily", "15 0 * * *", ["daily"], __doc__))
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
