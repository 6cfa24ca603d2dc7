"""Alerts for data engineers: a DAG run is late (Airflow Deadline Alerts) or failed.

Both log an error line and, when ``TSUR_ALERT_EMAILS`` and ``TSUR_SMTP_CONN_ID`` are set, e-mail
the addresses through the Airflow SMTP connection."""
from __future__ import annotations

import logging
import os

log = logging.getLogger("tsur.alerting")


def _mail(subject: str, body: str) -> bool:
    to = [a.strip() for a in os.environ.get("TSUR_ALERT_EMAILS", "").split(",") if a.strip()]
    conn_id = os.environ.get("TSUR_SMTP_CONN_ID")
    if not to or not conn_id:
        return False
    from reports.delivery import build_message, send_with_airflow

    send_with_airflow(build_message(os.environ.get("TSUR_REPORTS_SENDER", "tsur@localhost"), to, subject, f"<p>{body}</p>", []),
                      conn_id)
    return True


def late_run_message(dag_id: str, deadline: str | None = None) -> str:
    return f"DAG {dag_id}: run is late" + (f" (deadline {deadline})" if deadline else "")


async def notify_late_run(dag_id: str = "?", **kwargs) -> str:
    """Deadline Alert callback (runs in the triggerer)."""
    msg = late_run_message(dag_id, str(kwargs.get("deadline") or "") or None)
    log.error(msg)
    _mail(f"[tsur] {msg}", msg)
    return msg


def notify_failure(context) -> str:
    """on_failure_callback of the daily DAGs' tasks."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    msg = f"DAG {dag_id}, task {task_id} failed for {context.get('ds')}: {context.get('exception')}"
    log.error(msg)
    _mail(f"[tsur] {dag_id} failed", msg)
    return msg
