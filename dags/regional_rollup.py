"""regional_rollup (daily) and regional_rollup_weekly: the municipal centres rolled up to the
regional centre — totals by sector, fair SLA ranking, trends, the heat map. Logic: reports.rollup.
Runs after sla_daily and heatmap_daily of the same day (its quality check fails otherwise)."""
from __future__ import annotations

from airflow.sdk import dag, task

from reports import artifacts, rollup
from reports.dag_defaults import daily_dag_args, regions, report_day, reports_dir
from warehouse.airflow_hook import hook_client


def make(dag_id: str, cron: str, period_days: int):
    @dag(**daily_dag_args(dag_id, cron, ["daily" if period_days == 1 else "weekly"], __doc__))
    def rollup_dag():
        @task
        def report(region: str, logical_date=None) -> list[str]:
            day = report_day(logical_date)
            out = artifacts.day_dir(reports_dir(), region, day)
            with hook_client() as client:
                files = rollup.build_report(client, day, region, out, period_days)
                artifacts.publish(client, day, region, "rollup" if period_days == 1 else "rollup_weekly",
                                  [("region", p) for p in files.values()])
            return [str(p) for p in files.values()]

        report.expand(region=regions())

    return rollup_dag()


make("regional_rollup", "15 1 * * *", 1)
make("regional_rollup_weekly", "30 1 * * 1", 7)
