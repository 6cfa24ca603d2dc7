"""Operators' status updates of incidents (incidents.status, `tsur incident update`).

Schema: {"incident_id", "status", "at" (ISO 8601, default: now), "actor", "comment", "event_id"
(optional; default: a hash of incident, status, sector and time, so a re-sent event is stored
once), "sector" (optional: an operator's correction of the incident's sector; the worker re-routes
the incident and the event is a labelled example for `tsur train-sectors --with-corrections`)}.
Phones, e-mails and card numbers in the comment are masked (intake.privacy) before storage."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from intake.privacy import mask_pii
from intake.raw_post import Rejection, parse_time
from nlp.corpus import SECTORS

STATUSES = ("assigned", "answered", "in_progress", "resolved", "rejected", "reopened")
STATUS_COLUMNS = ("event_id", "incident_id", "status", "actor", "comment", "at", "received_at", "sector")


def parse_status_event(payload, now: datetime | None = None) -> list | str:
    """A row for incident_status_events, or the reason the event is rejected."""
    now = now or datetime.now(timezone.utc)
    if isinstance(payload, (bytes, bytearray)):
        try:  # strictly: json.loads(bytes) would let encoded surrogates through
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            return "status event is not valid UTF-8"
    try:
        obj = json.loads(payload) if isinstance(payload, str) else payload
    except (ValueError, RecursionError):
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
    sector = obj.get("sector")
    if sector not in (None, "") and sector not in SECTORS:
        return f"field 'sector' must be one of {', '.join(SECTORS)}"
    sector = sector or ""
    actor, comment, event_id = (obj.get(name) for name in ("actor", "comment", "event_id"))
    actor = "" if actor is None else actor
    comment = "" if comment is None else comment
    if not isinstance(actor, str) or not isinstance(comment, str):
        return "fields 'actor' and 'comment' must be strings"
    if isinstance(event_id, int) and not isinstance(event_id, bool) and abs(event_id) < 10**63:
        event_id = str(event_id)
    if event_id not in (None, "") and (not isinstance(event_id, str) or len(event_id) > 64):
        return "field 'event_id' must be a string of at most 64 characters"
    for name, value in (("incident_id", iid), ("actor", actor), ("comment", comment), ("event_id", event_id or "")):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"field {name!r} holds unpaired surrogates (not valid Unicode)"
    key = f"{iid}\x1f{status}\x1f{at.isoformat()}" + (f"\x1f{sector}" if sector else "")
    event_id = event_id or hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
    return [event_id, iid, status, actor[:256], mask_pii(comment[:8000])[:4000], at, now, sector]
