"""Shared settings of tsur's DAG files (dags/): default task arguments, regions, reports directory,
Deadline Alerts. Read from the environment; no Airflow import unless a Deadline Alert is configured."""
from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from reports.alerting import notify_failure

DEFAULT_ARGS = {
    "retries": int(os.environ.get("TSUR_DAG_RETRIES", "2")),
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "pool": "chdb",
    "on_failure_callback": notify_failure,
}


# Tasks that render (PDF, PNG) hold the warehouse only briefly: they run in Airflow's default pool,
# so the executor renders several at once while the `chdb` pool keeps one task on the store.
RENDER_POOL = os.environ.get("TSUR_RENDER_POOL", "default_pool")


def regions() -> list[str]:
    return [r.strip() for r in os.environ.get("TSUR_REGIONS", "Краснодарский край").split(",") if r.strip()]


def reports_dir() -> Path:
    """TSUR_REPORTS_DIR, else <TSUR_DATA_DIR>/reports (the layout of tsur.config.Settings)."""
    if os.environ.get("TSUR_REPORTS_DIR"):
        return Path(os.environ["TSUR_REPORTS_DIR"])
    return Path(os.environ.get("TSUR_DATA_DIR") or Path(__file__).resolve().parents[1] / "data") / "reports"


def catchup() -> bool:
    return os.environ.get("TSUR_DAG_CATCHUP", "false").lower() in ("1", "true", "yes")


def deadline(dag_id: str):
    """A Deadline Alert when TSUR_DEADLINE_ALERTS=on (off by default: it crashes `airflow dags test`,
    apache/airflow#73428)."""
    if os.environ.get("TSUR_DEADLINE_ALERTS", "off").lower() not in ("1", "on", "true", "yes"):
        return None
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=int(os.environ.get("TSUR_DAG_DEADLINE_MINUTES", "120"))),
        callback=AsyncCallback("reports.alerting.notify_late_run", kwargs={"dag_id": dag_id}),
    )


REPORT_TZ = "Europe/Moscow"


def report_day(logical_date) -> date:
    """The day a run of a daily product reports: the Moscow calendar date of its logical date (for a
    scheduled run, the start of its data interval). Airflow's ``ds`` is the UTC date of the logical
    date, a day early for every schedule in Moscow time that starts before 03:00."""
    from zoneinfo import ZoneInfo

    return logical_date.astimezone(ZoneInfo(REPORT_TZ)).date()


def daily_dag_args(dag_id: str, cron: str, tags: list[str], doc: str | None) -> dict:
    """The @dag arguments every daily product shares: data-interval timetable in Moscow time (the
    run for day D starts after D ends; TSUR_SCHEDULE_<DAG_ID> overrides the cron), catch-up, one
    active run, default args, Deadline Alert."""
    import pendulum
    from airflow.timetables.interval import CronDataIntervalTimetable

    cron = os.environ.get(f"TSUR_SCHEDULE_{dag_id.upper()}") or cron      # e.g. a short schedule in tests
    return dict(dag_id=dag_id, schedule=CronDataIntervalTimetable(cron, timezone=REPORT_TZ),
                start_date=pendulum.datetime(2026, 1, 1, tz=REPORT_TZ), catchup=catchup(), max_active_runs=1,
                default_args=DEFAULT_ARGS, tags=["tsur", *tags], deadline=deadline(dag_id), doc_md=doc)


def check_input_task():
    """The data-quality gate task of a daily product (reports.quality.check_day_input)."""
    from airflow.sdk import task

    @task
    def check_input(region: str, logical_date=None) -> str:
        from reports import quality
        from warehouse.airflow_hook import hook_client

        with hook_client() as client:
            quality.check_day_input(client, report_day(logical_date), region)
        return region

    return check_input


def region_report_dag(dag_id: str, cron: str, period_days: int, product: str, build_report, doc: str | None):
    """A DAG that writes one report per region for the ``period_days`` ending on the day:
    ``build_report(client, day, region, out_dir, period_days) -> {format: path}``, listed in
    published_reports as ``product`` (regional_rollup, resident_concerns and their weekly editions)."""
    from airflow.sdk import dag, task

    from reports import artifacts
    from warehouse.airflow_hook import hook_client

    @dag(**daily_dag_args(dag_id, cron, ["daily" if period_days == 1 else "weekly"], doc))
    def region_report():
        @task
        def report(region: str, logical_date=None) -> list[str]:
            day = report_day(logical_date)
            out = artifacts.day_dir(reports_dir(), region, day)
            with hook_client() as client:
                files = build_report(client, day, region, out, period_days)
                artifacts.publish(client, day, region, product, [("region", p) for p in files.values()])
            return [str(p) for p in files.values()]

        report.expand(region=regions())

    return region_report()


def log_written(target: str, files, emails: tuple[int, str] | None = None) -> None:
    """What a mapped report task wrote, in its log. The tasks return nothing: an XCom push is one more
    execution-API round trip per task instance (≈ 25 ms of the demo's ≈ 125 ms per SLA report)."""
    import logging

    sent = f"; e-mails {emails[0]} ({emails[1]})" if emails is not None else ""
    logging.getLogger("tsur.reports").info("%s: %s%s", target, ", ".join(str(p) for p in files), sent)


def mail_reports(deliver) -> tuple[int, str]:
    """E-mail through the Airflow SMTP connection TSUR_SMTP_CONN_ID, when it is set:
    ``deliver(recipients, send, sender) -> messages sent``. Returns (sent, "on" or why it is off)."""
    conn_id = os.environ.get("TSUR_SMTP_CONN_ID")
    if not conn_id:
        return 0, "off (TSUR_SMTP_CONN_ID unset)"
    from reports.delivery import Recipients, send_with_airflow

    recipients = Recipients.load(os.environ.get("TSUR_RECIPIENTS_FILE") or "reports/config/recipients.yaml")
    return deliver(recipients, lambda m: send_with_airflow(m, conn_id), os.environ.get("TSUR_REPORTS_SENDER", "tsur@localhost")), "on"
