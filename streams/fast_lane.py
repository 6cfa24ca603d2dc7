"""The missing-person fast lane: a post about a missing person (``nlp.missing_person``), whatever its
sector, becomes an incident of its own (never merged into another one) and an alert of kind
``missing_person``. The alert is stored with its batch (the alerts table), published on the alerts
topic, and delivered to the configured channels by the worker's ``deliver_alerts`` agent
(streams/notify.py). Its id is a hash of the post id: a replayed post never alerts twice."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

KIND = "missing_person"
TEXT_CHARS = 1000


@dataclass(frozen=True)
class MissingPersonAlert:
    alert_id: str
    post_id: str
    incident_id: str
    created_at: datetime
    region: str
    municipality: str
    oktmo: str               # the municipality's ОКТМО
    settlement: str
    lat: float | None
    lon: float | None
    h3: str
    sector: str
    url: str
    text: str                # the post (phones and e-mails masked, as stored)
    rule: str
    evidence: str
    ingested_at: datetime | None = None

    def to_json(self) -> dict:
        return {"alert_id": self.alert_id, "kind": KIND, "post_id": self.post_id, "incident_id": self.incident_id,
                "created_at": self.created_at.isoformat(), "region": self.region, "municipality": self.municipality,
                "oktmo": self.oktmo, "settlement": self.settlement, "lat": self.lat, "lon": self.lon, "h3": self.h3,
                "sector": self.sector, "url": self.url, "text": self.text, "rule": self.rule, "evidence": self.evidence,
                "ingested_at": self.ingested_at.isoformat() if self.ingested_at else None}

    def row(self, now: datetime) -> list:
        """A row of the alerts table (streams.tension.ALERT_COLUMNS)."""
        return [self.alert_id, KIND, self.region, self.municipality, self.oktmo, self.h3, self.sector, self.created_at,
                self.created_at, 1, 0.0, now, self.post_id, self.incident_id]


def alert_id_for(post_id: str) -> str:
    return hashlib.blake2b(f"{KIND}\x1f{post_id}".encode(), digest_size=10).hexdigest()


def place_key_for(post_id: str) -> str:
    """The incident place key of a missing-person post: its own, so no other post ever joins it."""
    return f"missing:{post_id}"
