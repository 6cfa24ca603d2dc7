"""Shared settings of tsur's DAG files (dags/): default task arguments, regions, reports directory,
Deadline Alerts. Read from the environment; no Airflow import unless a Deadline Alert is configured."""
from __future__ import annotations

import os
from datetime import timedelta
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
