"""chronic_problems (weekly, Monday 02:00 Moscow, for the 90 days ending on the logical date):
place × sector pairs with recurring incidents (≥ TSUR_CHRONIC_MIN_INCIDENTS, default 3), their
trend and a fair, explained score; a report per municipality and one for the region (HTML/PDF/XLSX),
e-mailed like the SLA reports. Logic: reports.chronic; docs/quality-control.md.

One mapped task instance per municipality (``report``); the region's report is one more target."""
from __future__ import annotations

import os

from airflow.sdk import dag, get_current_context, task

from reports import artifacts, chronic
from reports.dag_defaults import (
    RENDER_POOL,
    daily_dag_args,
    log_written,
    mail_reports,
    regions,
    report_day,
    reports_dir,
)
from warehouse.airflow_hook import hook_client

MIN_INCIDENTS = int(os.environ.get("TSUR_CHRONIC_MIN_INCIDENTS", chronic.MIN_INCIDENTS))


@dag(**daily_dag_args("chronic_problems", "0 2 * * 1", ["weekly"], __doc__))
def chronic_problems_dag():
    @task
    def build(region: str, logical_date=None) -> str:
        with hook_client() as client:
            chronic.build(client, report_day(logical_date), region, min_incidents=MIN_INCIDENTS)
        return region

    @task
    def targets(built: list[str], logical_date=None) -> list[dict]:
        """The region's report and one per municipality with chronic problems; the listing is emptied first."""
        day = report_day(logical_date)
        out = []
        with hook_client() as client:
            for region in built:
                artifacts.publish(client, day, region, "chronic", [])
                out.append({"region": region, "municipality": None, "oktmo": "region"})
                out += [{"region": region, **m} for m in chronic.municipalities(client, day, region)]
        return out

    @task(pool=RENDER_POOL, map_index_template="{{ target_name }}")
    def report(target: dict, logical_date=None) -> None:
        get_current_context()["target_name"] = target["municipality"] or target["region"]
        day, region, muni = report_day(logical_date), target["region"], target["municipality"]
        with hook_client() as client:
            data = chronic.load(client, day, region, muni, "" if muni is None else target["oktmo"])
        files = chronic.write(data, artifacts.day_dir(reports_dir(), region, day), MIN_INCIDENTS)
        scope = target["oktmo"]
        with hook_client() as client:
            artifacts.publish(client, day, region, "chronic", [(scope, p) for p in files.values()], scope=scope)
        emails = mail_reports(lambda recipients, send, sender: chronic.deliver([(muni, files)], recipients, day, send, sender))
        log_written(muni or region, files.values(), emails)

    report.expand(target=targets(build.expand(region=regions())))


chronic_problems_dag()
