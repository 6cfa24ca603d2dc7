"""Data-quality gates of the daily DAGs: fail loudly when input is missing or implausible."""
from __future__ import annotations

from datetime import date


class DataQualityError(Exception):
    """Input for a day is missing or implausible: the DAG run must fail loudly."""


def check_day_input(client, day: date, region: str) -> dict:
    """The day must have posts for the region, and complaints among them must have become incidents."""
    (posts, complaints, with_incident), = client.query(
        "SELECT count(), countIf(is_complaint = 1), countIf(is_complaint = 1 AND incident_id != '') FROM posts_enriched FINAL "
        "WHERE region = {r:String} AND toDate(created_at, 'Europe/Moscow') = {d:Date}",
        parameters={"r": region, "d": day}).result_rows
    if posts == 0:
        raise DataQualityError(f"{region} {day}: no enriched posts at all; is the stream worker running and caught up?")
    if complaints > 0 and with_incident == 0:
        raise DataQualityError(f"{region} {day}: {complaints} complaints but no incidents; the incident builder is failing")
    if complaints > 20 and with_incident < 0.9 * complaints:
        raise DataQualityError(f"{region} {day}: only {with_incident} of {complaints} complaints belong to an incident")
    return {"posts": int(posts), "complaints": int(complaints)}
