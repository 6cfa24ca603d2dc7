"""Simulated operators for demos and tests (``tsur simulate-operators``): status events with
realistic delays for the incidents in the warehouse — most are assigned within two hours,
answered after a few working hours (about a quarter too late), many resolved within days."""
from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta, timezone

from tsur.config import Settings
from warehouse.session import warehouse_session


def _rng_for(incident_id: str, seed: int) -> random.Random:
    return random.Random(int(hashlib.blake2b(f"{seed}:{incident_id}".encode(), digest_size=8).hexdigest(), 16))


def status_events(incidents: list[tuple], now: datetime, seed: int = 1) -> list[dict]:
    """incidents: (incident_id, first_seen, first_answer_due, resolution_due, responsible_body)."""
    out = []
    for iid, first_seen, first_due, final_due, body in incidents:
        rng = _rng_for(iid, seed)
        first_seen = first_seen.replace(tzinfo=timezone.utc) if first_seen.tzinfo is None else first_seen
        if rng.random() > 0.9:
            continue                                   # nobody picked it up (yet): overdue
        t = first_seen + timedelta(minutes=rng.uniform(10, 120))
        events = [("assigned", t)]
        answer_delay = timedelta(hours=rng.lognormvariate(1.6, 0.9))   # median ≈ 5 h
        t = first_seen + answer_delay
        events.append(("answered", t))
        if rng.random() < 0.65:
            t = t + timedelta(days=rng.uniform(0.5, 9))
            events.append(("resolved" if rng.random() < 0.9 else "rejected", t))
        for status, at in events:
            if at <= now:
                out.append({"incident_id": iid, "status": status, "at": at.isoformat(), "actor": body or "оператор",
                            "comment": {"assigned": "Принято в работу", "answered": "Дан ответ заявителю",
                                        "resolved": "Проблема устранена", "rejected": "Не в компетенции"}[status]})
    return out


def load_incidents(s: Settings) -> list[tuple]:
    with warehouse_session(s.clickhouse_dsn, s.warehouse_lock_timeout) as client:
        return client.query(
            "SELECT incident_id, first_seen, first_answer_due, resolution_due, responsible_body FROM incidents FINAL"
        ).result_rows
