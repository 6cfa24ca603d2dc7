"""The stream's rebuildable state, read back from ClickHouse (the system of record): open
incidents, which posts of a batch are already stored, the complaint baseline and open tension
episodes. Faust changelogs are not relied on (docs/broker.md)."""
from __future__ import annotations

from datetime import timedelta

from streams.incident_builder import REOPEN_WINDOW, OpenIncident
from warehouse.queries import named_query


def open_incidents(client, window: timedelta, reopen_window: timedelta = REOPEN_WINDOW,
                   ids: list[str] | None = None) -> list[OpenIncident]:
    """The stream's incidents: open ones (last post within ``window``) and those resolved within
    ``reopen_window``; or, given ``ids``, those incidents."""
    rows = client.query(named_query("stream_open_incidents"), parameters={
        "window_hours": int(window.total_seconds() // 3600), "reopen_hours": int(reopen_window.total_seconds() // 3600),
        "by_id": ids is not None, "ids": list(ids or [])}).result_rows
    out = []
    for (iid, pkey, sector, sig, first, last, count, urgency, region, muni, oktmo, settlement, s_oktmo, lat, lon, h3,
         sconf, cscore, title, body, first_due, final_due, model, reasons, url, review, reopened, resolved_at) in rows:
        out.append(OpenIncident(
            iid, pkey, sector, frozenset(sig), _utc(first), _utc(last), int(count), float(urgency),
            extra={"region": region, "municipality": muni, "oktmo": oktmo, "settlement": settlement, "settlement_oktmo": s_oktmo,
                   "lat": lat, "lon": lon, "h3": h3, "sector_confidence": sconf, "complaint_score": cscore, "title": title,
                   "responsible_body": body, "first_answer_due": _utc(first_due), "resolution_due": _utc(final_due),
                   "model_version": model, "urgency_reasons": tuple(reasons), "source_url": url,
                   "needs_review": bool(review)},
            resolved_at=_utc(resolved_at), reopened=int(reopened),
        ))
    return out


def status_changes(client, since) -> list[tuple[str, str, object, object]]:
    """(incident id, latest status, its time, when its newest event was stored) of the incidents that
    got a status event stored after ``since``."""
    rows = client.query(named_query("stream_status_changes"), parameters={"since": since}).result_rows
    return [(iid, status, _utc(at), _utc(received)) for iid, status, at, received in rows]


def corrections(client, incident_ids: list[str]) -> dict[str, tuple[str, object]]:
    """Incident id → (its operators' latest sector correction, when it was made), for those of the
    ids that have one."""
    if not incident_ids:
        return {}
    rows = client.query(named_query("incident_corrections"), parameters={"ids": incident_ids}).result_rows
    return {iid: (sector, _utc(at)) for iid, sector, at in rows}


def incident_rows(client, incident_ids: list[str]) -> list[dict]:
    """The stored rows (latest version) of some incidents, as dicts of INCIDENT_COLUMNS."""
    if not incident_ids:
        return []
    result = client.query(named_query("incident_rows"), parameters={"ids": incident_ids})
    return [dict(zip(result.column_names, r)) for r in result.result_rows]


def known_posts(client, post_ids: list[str]) -> dict[str, str]:
    if not post_ids:
        return {}
    rows = client.query(named_query("stream_known_posts"), parameters={"ids": post_ids}).result_rows
    return {pid: iid for pid, iid in rows}


def recent_complaints(client, days: int = 28) -> list:
    rows = client.query(named_query("stream_recent_complaints"), parameters={"days": days}).result_rows
    return [(k, s, _utc(t)) for k, s, t in rows]


def active_alerts(client, hours: int = 3) -> list:
    rows = client.query(named_query("stream_active_alerts"), parameters={"hours": hours}).result_rows
    return [(k, s, _utc(t)) for k, s, t in rows]


def _utc(value):
    """chDB returns DateTime64('UTC') values without a zone: attach it."""
    from datetime import timezone

    if value is None or getattr(value, "tzinfo", None) is not None:
        return value
    return value.replace(tzinfo=timezone.utc)
