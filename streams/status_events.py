"""Operators' status updates of incidents (incidents.status, `tsur incident update`).

Schema: {"incident_id", "status", "at" (ISO 8601, default: now), "actor", "comment", "event_id"
(optional; default: a hash of incident, status and time, so a re-sent event is stored once)}."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from intake.raw_post import Rejection, parse_time

STATUSES = ("assigned", "answered", "in_progress", "resolved", "rejected", "reopened")
STATUS_COLUMNS = ("event_id", "incident_id", "status", "actor", "comment", "at", "received_at")


def parse_status_event(payload, now: datetime | None = None) -> list | str:
    """A row for incident_status_events, or the reason the event is rejected."""
    now = now or datetime.now(timezone.utc)
    try:
        obj = json.loads(payload) if isinstance(payload, (bytes, bytearray, str)) else payload
    except (ValueError, UnicodeDecodeError):
        return "status event is not valid JSON"
    if not isinstance(obj, dict):
        return "status event must be a JSON object"
    iid, status = obj.get("incident_id"), obj.get("status")
    if not isinstance(iid, str) or not (1 <= len(iid) <= 64):
        return "field 'incident_id' is missing or not a string"
    if status not in STATUSES:
        return f"field 'status' must be one of {', '.join(STATUSES)}"
    at = parse_time(obj["at"]) if obj.get("at") is not None else now
    if isinstance(at, Rejection):
        return at.reason.replace("created_at", "at")
    if at > now:
        return "field 'at' is in the future"
    if at.year < 2005:
        return "field 'at' is before 2005"
    actor, comment = obj.get("actor") or "", obj.get("comment") or ""
    if not isinstance(actor, str) or not isinstance(comment, str):
        return "fields 'actor' and 'comment' must be strings"
    event_id = obj.get("event_id") or hashlib.blake2b(f"{iid}\x1f{status}\x1f{at.isoformat()}".encode(), digest_size=10).hexdigest()
    return [str(event_id)[:64], iid, status, actor[:256], comment[:4000], at, now]
