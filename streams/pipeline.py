"""The pure core of the stream: a batch of raw payloads in, rows for the warehouse and messages
for the output topics out. No Faust, no I/O: the agent (streams/app.py) is the shell around it.

1. ``parse_batch``: validate (intake.raw_post) → posts + dead letters (never raises).
2. ``enrich_batch``: enrichment (what + where, and the missing-person test: ``enrich_posts``), then incidents
   (streams.incident_builder), routing and deadlines for new incidents, tension counts
   (``assign_incidents``). The worker runs the two steps apart: the first one while the previous
   batch is still being written.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from time import perf_counter
from typing import Callable

from intake.privacy import mask_pii
from intake.raw_post import COLUMNS as RAW_COLUMNS
from intake.raw_post import RawPost, Rejection, parse_raw_post
from nlp.missing_person import detect as detect_missing_person
from streams.fast_lane import (
    TEXT_CHARS,
    MissingPersonAlert,
    alert_id_for,
    place_key_for,
)
from streams.incident_builder import (
    IncidentBuilder,
    OpenIncident,
    place_key_of,
    signature,
)
from streams.status_events import STATUS_COLUMNS
from streams.tension import ALERT_COLUMNS

DLQ_PAYLOAD_CHARS = 10_000

ENRICHED_COLUMNS = (
    "post_id", "incident_id", "source", "community_id", "created_at", "region", "municipality", "oktmo", "settlement",
    "settlement_oktmo", "lat", "lon", "h3", "place_confidence", "place_method", "sector", "sector_confidence", "runner_up",
    "complaint_score", "is_complaint", "urgency", "urgency_reasons", "model_version", "enriched_at", "needs_review",
)
INCIDENT_COLUMNS = (
    "incident_id", "region", "municipality", "oktmo", "settlement", "settlement_oktmo", "lat", "lon", "h3", "sector",
    "sector_confidence", "complaint_score", "urgency", "title", "posts_count", "first_seen", "last_seen",
    "responsible_body", "first_answer_due", "resolution_due", "model_version", "updated_at", "place_key", "signature",
    "urgency_reasons", "source_url", "needs_review", "reopened",
)
TITLE_CHARS = 160
REOPEN_ACTOR = "tsur"
REOPEN_REASON = "complaints continued"

# route(region, municipality, sector, first_seen, urgency) -> (responsible body, first answer due, resolution due)
Route = Callable[[str, str, str, datetime, float], tuple[str, datetime | None, datetime | None]]


@dataclass
class DeadLetter:
    reason: str
    payload: str
    topic: str
    partition: int | None
    offset: int | None
    at: str

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class BatchResult:
    posts: list[RawPost] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    enriched: list[list] = field(default_factory=list)
    incidents: list[OpenIncident] = field(default_factory=list)
    complaints: list[tuple[str, str, datetime]] = field(default_factory=list)   # (tension key, sector, time)
    missing: list[MissingPersonAlert] = field(default_factory=list)             # the fast lane's alerts
    missing_person: list = field(default_factory=list)     # per post: nlp.missing_person.detect (step 1)
    signatures: list = field(default_factory=list)         # per post: its incident signature, or None (step 1)
    status_events: list[list] = field(default_factory=list)     # 'reopened' events (STATUS_COLUMNS rows)
    seconds: dict[str, float] = field(default_factory=dict)    # time per stage (streams.metrics.STAGES)

    def warehouse_batches(self, now: datetime | None = None) -> list[tuple[str, list[list], tuple[str, ...]]]:
        """Rows per table, in the order they must be written: ``posts_enriched`` (which records
        that a post was counted into its incident) last, so that a crash between the inserts
        never leaves a post marked as counted in an incident that was not stored; the restart
        recounts each open incident from ``posts_enriched`` (sql/queries/stream_open_incidents.sql).
        The fast lane's alerts and the reopenings' status events are written before it too."""
        now = now or datetime.now(timezone.utc)
        return [
            ("posts_raw", [p.row() for p in self.posts], RAW_COLUMNS),
            ("incidents", [incident_row(i, now) for i in self.incidents], INCIDENT_COLUMNS),
            ("alerts", [a.row(now) for a in self.missing], ALERT_COLUMNS),
            ("incident_status_events", self.status_events, STATUS_COLUMNS),
            ("posts_enriched", self.enriched, ENRICHED_COLUMNS),
        ]


def incident_row(inc: OpenIncident, now: datetime) -> list:
    e = inc.extra
    return [
        inc.incident_id, e.get("region", ""), e.get("municipality", ""), e.get("oktmo", ""), e.get("settlement", ""),
        e.get("settlement_oktmo", ""), e.get("lat"), e.get("lon"), e.get("h3", ""), e.get("sector") or inc.sector,
        e.get("sector_confidence", 0.0), e.get("complaint_score", 0.0), inc.urgency, e.get("title", ""),
        inc.posts_count, inc.first_seen, inc.last_seen, e.get("responsible_body", ""), e.get("first_answer_due"),
        e.get("resolution_due"), e.get("model_version", ""), now, inc.place_key, sorted(inc.signature),
        list(e.get("urgency_reasons", ())), e.get("source_url", ""), int(e.get("needs_review", False)), inc.reopened,
    ]


def incident_message(inc: OpenIncident) -> dict:
    e = inc.extra
    due = e.get("first_answer_due")
    res = e.get("resolution_due")
    return {
        "incident_id": inc.incident_id, "sector": e.get("sector") or inc.sector, "region": e.get("region"), "municipality": e.get("municipality"),
        "settlement": e.get("settlement"), "oktmo": e.get("oktmo"), "lat": e.get("lat"), "lon": e.get("lon"), "h3": e.get("h3"),
        "posts_count": inc.posts_count, "first_seen": inc.first_seen.isoformat(), "last_seen": inc.last_seen.isoformat(),
        "urgency": inc.urgency, "responsible_body": e.get("responsible_body"), "title": e.get("title"),
        "first_answer_due": due.isoformat() if due else None, "resolution_due": res.isoformat() if res else None,
        "new": inc.is_new, "reopened": inc.reopened,
    }


def reopen_event(inc: OpenIncident, post_id: str, at: datetime, now: datetime) -> list:
    """The 'reopened' status event (STATUS_COLUMNS) of an incident a post reopened; its id is a hash of
    the incident and the post, so a replay stores it once."""
    event_id = hashlib.blake2b(f"{inc.incident_id}\x1freopened\x1f{post_id}".encode(), digest_size=10).hexdigest()
    return [event_id, inc.incident_id, "reopened", REOPEN_ACTOR, f"{REOPEN_REASON}: post {post_id}", at, now, ""]


# ---------------------------------------------------------------- operators' sector corrections
def apply_corrections(incidents: list[OpenIncident], corrected: dict[str, tuple], route: Route) -> int:
    """Give the stream's open incidents their operators' sector corrections (incident id → (sector,
    time), ``streams.state.corrections``):
    the sector, and the responsible body and deadlines routed anew for it. The incident keeps its
    place in the builder (posts the model reads the same way still join it). Returns how many changed."""
    changed = 0
    for inc in incidents:
        sector = corrected.get(inc.incident_id, ("",))[0]
        e = inc.extra
        if not sector or not e or (e.get("sector") or inc.sector) == sector:
            continue
        body, first_due, final_due = route(e.get("region", ""), e.get("municipality", ""), sector, inc.first_seen, inc.urgency)
        e.update(sector=sector, responsible_body=body, first_answer_due=first_due, resolution_due=final_due, needs_review=False)
        changed += 1
    return changed


def rerouted_row(stored: dict, sector: str, route: Route, now: datetime) -> list:
    """A new version of a stored incident row (``INCIDENT_COLUMNS`` as a dict) after a sector
    correction: the sector, responsible body and deadlines for it; no longer needing review."""
    body, first_due, final_due = route(stored["region"], stored["municipality"], sector, stored["first_seen"], stored["urgency"])
    row = dict(stored, sector=sector, responsible_body=body, first_answer_due=first_due, resolution_due=final_due,
               needs_review=0, updated_at=now)
    return [row[c] for c in INCIDENT_COLUMNS]


def payload_preview(payload) -> str:
    """The start of a rejected payload for the DLQ: valid UTF-8 (lone surrogates replaced), with
    phones, e-mails and card numbers masked like stored text (the DLQ topic is storage too)."""
    if isinstance(payload, (bytes, bytearray)):
        text = bytes(payload[: DLQ_PAYLOAD_CHARS * 4]).decode("utf-8", "replace")
    else:
        try:
            text = str(payload)
        except Exception:  # e.g. a dict holding an int too long to print: still dead-letter it
            text = f"<{type(payload).__name__} that cannot be printed>"
        text = text[: DLQ_PAYLOAD_CHARS * 2].encode("utf-8", "replace").decode("utf-8")
    return mask_pii(text)[:DLQ_PAYLOAD_CHARS]


def parse_batch(messages, key: bytes, topic: str = "posts.raw", now: datetime | None = None) -> BatchResult:
    """``messages``: iterable of (payload, partition, offset). Never raises on bad payloads."""
    now = now or datetime.now(timezone.utc)
    result = BatchResult()
    seen: set[str] = set()
    for payload, partition, offset in messages:
        try:
            parsed = parse_raw_post(payload, key, now=now)
        except Exception as exc:  # a bug in validation must not kill the worker: dead-letter it
            parsed = Rejection(f"internal error while validating: {type(exc).__name__}: {exc}"[:300])
        if isinstance(parsed, Rejection):
            result.dead_letters.append(
                DeadLetter(parsed.reason, payload_preview(payload), topic, partition, offset, now.isoformat())
            )
        elif parsed.post_id not in seen:  # the same post twice in one batch: store once
            seen.add(parsed.post_id)
            result.posts.append(parsed)
    return result


def enrichment_inputs(posts: list[RawPost]) -> list[dict]:
    """What the enricher reads of each valid post."""
    return [{"text": p.text, "region_hint": p.region_hint or None, "place_hint": p.place_hint or None,
             "community": p.community_name or None, "geo": {"lat": p.lat, "lon": p.lon} if p.lat is not None else None}
            for p in posts]


def enrich_and_detect(enricher, inputs: list[dict]) -> tuple[list, list, list]:
    """What and where of each post, the fast lane's missing-person test, and the incident signature
    of the posts that will join incidents (complaints and missing persons; None for the others):
    the pure, per-post step, the one the worker's enrichment process runs (streams/enrich_process.py)."""
    enrichments = enricher.enrich_batch(inputs)
    missing = [detect_missing_person(p["text"]) for p in inputs]
    signatures = [signature(p["text"]) if m or getattr(e, "is_complaint", False) else None
                  for p, e, m in zip(inputs, enrichments, missing)]
    return enrichments, missing, signatures


def enrich_posts(result: BatchResult, enrich: Callable[[list[dict]], tuple[list, list, list]]) -> list:
    """Step 1 of ``enrich_batch``: what and where of each valid post (no state touched, so it may run
    while the previous batch is being written). ``enrich``: ``enrich_and_detect`` with an enricher
    bound, or ``EnrichmentProcess.enrich``."""
    t0 = perf_counter()
    enrichments, result.missing_person, result.signatures = enrich(enrichment_inputs(result.posts))
    result.seconds["enrich"] = perf_counter() - t0
    return enrichments


def assign_incidents(result: BatchResult, enrichments: list, builder: IncidentBuilder, route: Route,
                     known: dict[str, str] | None = None, now: datetime | None = None) -> BatchResult:
    """Step 2 of ``enrich_batch``: complaints into incidents, routing and deadlines for new ones, the
    rows of posts_enriched. ``known``: post_id → incident_id of posts already stored (a replay keeps
    its incident)."""
    t0 = perf_counter()
    now = now or datetime.now(timezone.utc)
    known = known or {}
    touched: dict[str, OpenIncident] = {}
    lane = result.missing_person or [detect_missing_person(p.text) for p in result.posts]
    sigs = result.signatures or [None] * len(result.posts)
    for p, e, missing, sig in zip(result.posts, enrichments, lane, sigs):
        if not hasattr(e, "sector"):        # Rejected: cannot happen for a validated post, but never crash
            continue
        incident_id = ""
        if e.is_complaint or missing:
            pkey = place_key_for(p.post_id) if missing else place_key_of(e.region, e.municipality, e.oktmo, e.settlement)
            inc = builder.assign(p.post_id, p.text, p.created_at, pkey, e.sector, e.urgency, known.get(p.post_id), sig)
            if inc.is_new and not inc.extra:
                body, first_due, final_due = route(e.region or "", e.municipality or "", e.sector, inc.first_seen, e.urgency)
                inc.extra = {
                    "region": e.region or "", "municipality": e.municipality or "", "oktmo": e.municipality_oktmo or "",
                    "settlement": e.settlement or "", "settlement_oktmo": e.oktmo or "", "lat": e.lat, "lon": e.lon,
                    "h3": e.h3 or "", "sector_confidence": e.sector_confidence, "complaint_score": e.complaint_score,
                    "title": " ".join(p.text.split())[:TITLE_CHARS], "responsible_body": body, "first_answer_due": first_due,
                    "resolution_due": final_due, "model_version": e.model_version, "urgency_reasons": e.urgency_reasons,
                    "source_url": p.url, "needs_review": e.needs_review,
                }
            incident_id = inc.incident_id
            touched[incident_id] = inc
            for post_id in inc.reopened_by:
                result.status_events.append(reopen_event(inc, post_id, p.created_at, now))
            inc.reopened_by.clear()
            if missing:     # alerted again on a replay (at least once; the id lets receivers drop repeats)
                result.missing.append(MissingPersonAlert(
                    alert_id_for(p.post_id), p.post_id, incident_id, p.created_at, e.region or "", e.municipality or "",
                    e.municipality_oktmo or "", e.settlement or "", e.lat, e.lon, e.h3 or "", e.sector, p.url,
                    p.text[:TEXT_CHARS], missing.rule, missing.evidence, p.ingested_at))
            else:
                result.complaints.append((e.municipality_oktmo or e.region or "?", e.sector, p.created_at))
        result.enriched.append([
            p.post_id, incident_id, p.source, p.community_id, p.created_at, e.region or "", e.municipality or "",
            e.municipality_oktmo or "", e.settlement or "", e.oktmo or "", e.lat, e.lon, e.h3 or "", e.place_confidence,
            e.place_method, e.sector, e.sector_confidence, e.runner_up, e.complaint_score, int(e.is_complaint), e.urgency,
            list(e.urgency_reasons), e.model_version, now, int(e.needs_review),
        ])
    result.incidents = [i for i in touched.values() if i.extra]
    result.seconds["incidents"] = perf_counter() - t0
    return result


def enrich_batch(result: BatchResult, enricher, builder: IncidentBuilder, route: Route,
                 known: dict[str, str] | None = None, now: datetime | None = None) -> BatchResult:
    """Enrich the valid posts, assign complaints to incidents, route and set deadlines for new ones
    (``enrich_posts`` then ``assign_incidents``).

    ``known``: post_id → incident_id of posts already stored (a replay keeps their incident)."""
    return assign_incidents(result, enrich_posts(result, partial(enrich_and_detect, enricher)), builder, route, known, now)
