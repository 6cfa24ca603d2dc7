"""sla_daily: SLA figures per municipality and responsible body (7 days ending on the logical
date), HTML/PDF/XLSX per municipality, e-mailed to municipal heads. Logic: reports.sla."""
from __future__ import annotations

import os

from airflow.sdk import dag, task

from reports import artifacts, sla
from reports.dag_defaults import check_input_task, daily_dag_args, regions, report_day, reports_dir
from warehouse.airflow_hook import hook_client


@dag(**daily_dag_args("sla_daily", "45 0 * * *", ["daily"], __doc__))
def sla_daily_dag():
    @task
    def build(region: str, logical_date=None) -> str:
        with hook_client() as client:
            sla.build(client, report_day(logical_date), region)
        return region

    @task
    def render_and_deliver(region: str, logical_date=None) -> dict:
        from reports.delivery import Recipients, send_with_airflow

        day = report_day(logical_date)
        out = artifacts.day_dir(reports_dir(), region, day)
        with hook_client() as client:
            reports = sla.render(client, day, region, out)
            artifacts.publish(client, day, region, "sla", [(oktmo, p) for _, oktmo, files in reports for p in files.values()])
        conn_id = os.environ.get("TSUR_SMTP_CONN_ID")
        sent = 0
        if conn_id:
            recipients = Recipients.load(os.environ.get("TSUR_RECIPIENTS_FILE") or "reports/config/recipients.yaml")
            sent = sla.deliver(reports, recipients, day, region, lambda m: send_with_airflow(m, conn_id),
                               os.environ.get("TSUR_REPORTS_SENDER", "tsur@localhost"))
        return {"municipalities": len(reports), "emails": sent, "email": "on" if conn_id else "off (TSUR_SMTP_CONN_ID unset)"}

    render_and_deliver.expand(region=build.expand(region=check_input_task().expand(region=regions())))


sla_daily_dag()
