"""sla_daily: SLA figures per municipality and responsible body (7 days ending on the logical
date), HTML/PDF/XLSX per municipality, e-mailed to municipal heads. Logic: reports.sla.

One mapped task instance per municipality (``report``): the executor renders them in parallel and a
failure retries one municipality. Each holds the warehouse only to read its figures and to list its
files; rendering runs outside the embedded store's lock, in the render pool."""
from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from reports import artifacts, sla
from reports.dag_defaults import (
    RENDER_POOL,
    check_input_task,
    daily_dag_args,
    log_written,
    mail_reports,
    regions,
    report_day,
    reports_dir,
)
from warehouse.airflow_hook import hook_client


@dag(**daily_dag_args("sla_daily", "45 0 * * *", ["daily"], __doc__))
def sla_daily_dag():
    @task
    def build(region: str, logical_date=None) -> str:
        with hook_client() as client:
            sla.build(client, report_day(logical_date), region)
        return region

    @task
    def municipalities(built: list[str], logical_date=None) -> list[dict]:
        """One target per municipality with figures; the day's listing of SLA files is emptied first
        and refilled by the report tasks."""
        day = report_day(logical_date)
        out = []
        with hook_client() as client:
            for region in built:
                artifacts.publish(client, day, region, "sla", [])
                out += [{"region": region, **m} for m in sla.municipalities(client, day, region)]
        return out

    @task(pool=RENDER_POOL, map_index_template="{{ municipality }}")
    def report(target: dict, logical_date=None) -> None:
        get_current_context()["municipality"] = target["municipality"]
        day, region, oktmo = report_day(logical_date), target["region"], target["oktmo"]
        with hook_client() as client:
            data = sla.load(client, day, region, target["municipality"], oktmo)
        files = sla.write(data, artifacts.day_dir(reports_dir(), region, day))
        with hook_client() as client:
            artifacts.publish(client, day, region, "sla", [(oktmo, p) for p in files.values()], scope=oktmo)
        emails = mail_reports(lambda recipients, send, sender: sla.deliver(
            [(target["municipality"], oktmo, files)], recipients, day, region, send, sender))
        log_written(target["municipality"], files.values(), emails)

    report.expand(target=municipalities(build.expand(region=check_input_task().expand(region=regions()))))


sla_daily_dag()
