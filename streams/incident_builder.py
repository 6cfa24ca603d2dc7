"""Incidents, not just posts: complaints about the same problem join one incident.

A complaint joins an open incident with the same place key (settlement, else municipality, else
region), the same sector, a last post within the window (event time), and similar text: Jaccard
similarity of content lemmas with the incident's first post ≥ ``similarity``. Otherwise it opens
a new incident whose id is a hash of (place key, sector, first post id): deterministic, so
re-processing after a crash produces the same ids. A post that was already assigned (known from
ClickHouse) keeps its incident and is not counted twice.

Quality control of resolutions: an incident an operator marked resolved stays known for
``reopen_window`` (default 7 days) after the resolution. A complaint written after it that would
join it (same place key and sector, similar text) reopens it instead of opening a new incident: the
incident counts one more reopening and remembers the post (``reopened_by``), for which the stream
writes a ``reopened`` status event ("complaints continued"). A new problem elsewhere, in another
sector, or in other words opens a new incident as before.

Pure: the worker keeps one ``IncidentBuilder`` and rebuilds it from ClickHouse on start.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nlp.features import analyse
from nlp.text import GENERIC_WORDS, fold

WINDOW = timedelta(hours=72)
REOPEN_WINDOW = timedelta(days=7)
SIMILARITY = 0.08
SIGNATURE_WORDS = 40



def signature(text: str) -> frozenset[str]:
    """Content lemmas of a text (first normal form of each word, generic words dropped)."""
    out = []
    for forms in analyse(fold(text[:5000])):
        head = forms[0]
        if len(head) > 2 and not head.isdigit() and head not in GENERIC_WORDS:
            out.append(head)
        if len(out) >= SIGNATURE_WORDS:
            break
    return frozenset(out)


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def incident_id_for(place_key: str, sector: str, first_post_id: str) -> str:
    return hashlib.blake2b(f"{place_key}\x1f{sector}\x1f{first_post_id}".encode(), digest_size=10).hexdigest()


def place_key_of(region: str | None, municipality: str | None, settlement_oktmo: str | None, settlement: str | None) -> str:
    if settlement:
        return f"s:{region}|{municipality}|{settlement_oktmo or settlement}"
    if municipality:
        return f"m:{region}|{municipality}"
    return f"r:{region or '?'}"


@dataclass
class OpenIncident:
    incident_id: str
    place_key: str
    sector: str
    signature: frozenset
    first_seen: datetime
    last_seen: datetime
    posts_count: int = 1
    urgency: float = 0.0
    is_new: bool = False                  # opened in this batch (deadlines, routing still to set)
    dirty: bool = True                    # changed since it was last written
    extra: dict = field(default_factory=dict)
    resolved_at: datetime | None = None   # when an operator marked it resolved (its latest status), else None
    reopened: int = 0                     # times the stream reopened it because complaints continued
    reopened_by: list = field(default_factory=list)   # posts that reopened it in this batch (status events to write)


class IncidentBuilder:
    def __init__(self, window: timedelta = WINDOW, similarity: float = SIMILARITY, reopen_window: timedelta = REOPEN_WINDOW):
        self.window = window
        self.similarity = similarity
        self.reopen_window = reopen_window
        self.open: dict[tuple[str, str], list[OpenIncident]] = {}
        self.by_id: dict[str, OpenIncident] = {}
        self.watermark: datetime | None = None

    def restore(self, incidents: list[OpenIncident]) -> None:
        """Rebuild the open incidents (from ClickHouse) after a start or rebalance."""
        for inc in incidents:
            inc.dirty = False
            inc.is_new = False
            if inc.incident_id in self.by_id:
                continue
            self.by_id[inc.incident_id] = inc
            self.open.setdefault((inc.place_key, inc.sector), []).append(inc)
            if self.watermark is None or inc.last_seen > self.watermark:
                self.watermark = inc.last_seen

    def set_status(self, incident_id: str, status: str, at: datetime) -> bool:
        """An operator's latest status of a known incident (``resolved`` arms the reopening; any
        other status disarms it). False when the incident is not held here."""
        inc = self.by_id.get(incident_id)
        if inc is None:
            return False
        inc.resolved_at = at if status == "resolved" else None
        return True

    def assign(self, post_id: str, text: str, created_at: datetime, place_key: str, sector: str, urgency: float,
               known_incident: str | None = None, sig: frozenset[str] | None = None) -> OpenIncident:
        """The incident of one complaint (joining or opening one); ``sig``: ``signature(text)`` when
        the caller has it already."""
        if known_incident and known_incident in self.by_id:
            return self.by_id[known_incident]   # replay of a stored post: no double count
        if sig is None:
            sig = signature(text)
        if self.watermark is None or created_at > self.watermark:
            self.watermark = created_at
        key = (place_key, sector)
        best, best_sim = None, -1.0
        for inc in self.open.get(key, ()):
            if inc.resolved_at is not None and created_at > inc.resolved_at:
                if created_at - inc.resolved_at > self.reopen_window:
                    continue
            elif abs(created_at - inc.last_seen) > self.window and not (inc.first_seen <= created_at <= inc.last_seen):
                continue
            sim = jaccard(sig, inc.signature)
            if sim >= self.similarity and sim > best_sim:
                best, best_sim = inc, sim
        if best is None:
            inc = OpenIncident(known_incident or incident_id_for(place_key, sector, post_id), place_key, sector, sig,
                               created_at, created_at, 1, urgency, is_new=True)
            self.open.setdefault(key, []).append(inc)
            self.by_id[inc.incident_id] = inc
            return inc
        if best.resolved_at is not None and created_at > best.resolved_at:
            best.resolved_at = None             # complaints continued after the resolution
            best.reopened += 1
            best.reopened_by.append(post_id)
        best.posts_count += 1
        best.first_seen = min(best.first_seen, created_at)
        best.last_seen = max(best.last_seen, created_at)
        best.urgency = max(best.urgency, urgency)
        best.dirty = True
        return best

    def evict(self) -> int:
        """Forget incidents whose last post is older than the window (event time), unless they were
        resolved within the reopen window."""
        if self.watermark is None:
            return 0
        horizon = self.watermark - self.window
        reopen_horizon = self.watermark - self.reopen_window

        def held(i: OpenIncident) -> bool:
            return i.last_seen >= horizon or (i.resolved_at is not None and i.resolved_at >= reopen_horizon)

        dropped = 0
        for key in list(self.open):
            keep = [i for i in self.open[key] if held(i)]
            dropped += len(self.open[key]) - len(keep)
            for i in self.open[key]:
                if not held(i):
                    self.by_id.pop(i.incident_id, None)
            if keep:
                self.open[key] = keep
            else:
                del self.open[key]
        return dropped
