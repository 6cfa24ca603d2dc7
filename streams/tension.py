"""Tension alerts: a sudden burst of complaints about one sector in one municipality.

Per (municipality, sector) the monitor keeps the complaint times of the last 28 days (event
time). An alert fires when the last ``recent`` hours hold at least ``min_count`` complaints AND
their hourly rate is at least ``factor`` × the 28-day hourly mean; once per episode: the episode
ends when the recent count falls below half the minimum. The alert id is a hash of the key and
the hour the episode started, so a replay or restart never produces a second alert (alerts is a
ReplacingMergeTree keyed by that id). The state is rebuilt from ClickHouse on start.
"""
from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class TensionAlert:
    alert_id: str
    key: str
    sector: str
    window_start: datetime
    window_end: datetime
    observed: int
    baseline: float          # complaints per `recent` window expected from the 28-day mean

    def to_json(self) -> dict:
        return {"alert_id": self.alert_id, "kind": "tension", "key": self.key, "sector": self.sector,
                "window_start": self.window_start.isoformat(), "window_end": self.window_end.isoformat(),
                "observed": self.observed, "baseline": round(self.baseline, 3)}


class TensionMonitor:
    def __init__(self, min_count: int = 5, recent: timedelta = timedelta(hours=3), factor: float = 4.0,
                 baseline: timedelta = timedelta(days=28)):
        self.min_count = min_count
        self.recent = recent
        self.factor = factor
        self.baseline = baseline
        self.times: dict[tuple[str, str], list[datetime]] = {}
        self.active: dict[tuple[str, str], datetime] = {}

    def restore(self, events: list[tuple[str, str, datetime]], active: list[tuple[str, str, datetime]] = ()) -> None:
        """Complaint times (key, sector, time) and the episodes still open (key, sector, episode hour)
        from ClickHouse, so a restart neither forgets the baseline nor alerts twice."""
        for key, sector, t in events:
            bisect.insort(self.times.setdefault((key, sector), []), t)
        for key, sector, episode in active:
            self.active[(key, sector)] = episode

    def observe(self, key: str, sector: str, t: datetime) -> TensionAlert | None:
        ts = self.times.setdefault((key, sector), [])
        bisect.insort(ts, t)
        horizon = ts[-1] - self.baseline
        if ts[0] < horizon:
            del ts[: bisect.bisect_left(ts, horizon)]
        start = t - self.recent
        recent = bisect.bisect_right(ts, t) - bisect.bisect_left(ts, start)
        older = bisect.bisect_left(ts, start) - bisect.bisect_left(ts, t - self.baseline)
        hours = (self.baseline - self.recent) / timedelta(hours=1)
        expected = older / hours * (self.recent / timedelta(hours=1))
        k = (key, sector)
        if k in self.active and recent < self.min_count / 2:
            del self.active[k]
        hot = recent >= self.min_count and recent >= self.factor * max(expected, 1e-9)
        if not hot or k in self.active:
            return None
        episode = t.replace(minute=0, second=0, microsecond=0)
        self.active[k] = episode
        aid = hashlib.blake2b(f"tension\x1f{key}\x1f{sector}\x1f{episode.isoformat()}".encode(), digest_size=10).hexdigest()
        return TensionAlert(aid, key, sector, start, t, recent, expected)


ALERT_COLUMNS = ("alert_id", "kind", "region", "municipality", "oktmo", "h3", "sector", "window_start", "window_end",
                 "observed", "baseline", "created_at", "post_id", "incident_id")


def alert_rows(found: list[TensionAlert], now: datetime) -> list[list]:
    """Rows for the alerts table: keyed by the municipality ОКТМО, or by the region name when the
    complaint's place is known only to the region."""
    rows = []
    for a in found:
        oktmo = a.key if a.key.isdigit() else ""
        rows.append([a.alert_id, "tension", "" if oktmo else a.key, "", oktmo, "", a.sector, a.window_start, a.window_end,
                     a.observed, a.baseline, now, "", ""])
    return rows
