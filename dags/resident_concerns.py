"""resident_concerns (daily) and resident_concerns_weekly: what worries residents — top subtopics,
words and phrases on the rise against the previous four weeks, the most discussed incidents,
complaints per 10,000 residents per municipality (HTML/PDF/XLSX per region). Logic: reports.concerns."""
from __future__ import annotations

from airflow.sdk import dag, task

from reports import artifacts, concerns
from reports.dag_defaults import daily_dag_args, regions, report_day, reports_dir
from warehouse.airflow_hook import hook_client


def make(dag_id: str, cron: str, period_days: int):
    @dag(**daily_dag_args(dag_id, cron, ["daily" if period_days == 1 else "weekly"], __doc__))
    def concerns_dag():
        @task
        def report(region: str, logical_date=None) -> list[str]:
            day = report_day(logical_date)
            out = artifacts.day_dir(reports_dir(), region, day)
            with hook_client() as client:
                files = concerns.build_report(client, day, region, out, period_days)
                artifacts.publish(client, day, region, "concerns" if period_days == 1 else "concerns_weekly",
                                  [("region", p) for p in files.values()])
            return [str(p) for p in files.values()]

        report.expand(region=regions())

    return concerns_dag()


make("resident_concerns", "45 1 * * *", 1)
make("resident_concerns_weekly", "30 2 * * 1", 7)
