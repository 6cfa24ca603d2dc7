"""What the dashboard and the Open311 API read: named SQL (sql/queries/*.sql) with
clickhouse-connect parameters, turned into plain rows. Every function takes an open client."""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from warehouse.queries import named_query

MSK = ZoneInfo("Europe/Moscow")          # the dashboard's and Open311's calendar days

CLOSED_STATUSES = ("resolved", "rejected")
BASELINE_TTL_S = 600.0


def utc(value: datetime | None) -> datetime | None:
    """clickhouse-connect gives DateTime64(3, 'UTC') as naive or aware datetimes: make them aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _rows(client, name: str, **params) -> list[dict]:
    result = client.query(named_query(name), parameters=params)
    names = result.column_names
    return [dict(zip(names, row)) for row in result.result_rows]


def days(client, region: str, since: date) -> list[dict]:
    return _rows(client, "dashboard_days", region=region, since=since)


class BaselineCache:
    """Heat-map baselines (previous 28 days: past data) kept for ``ttl`` seconds per
    (region, day, sector, resolution), so a refresh or a sector switch back costs only the day."""

    def __init__(self, ttl: float = BASELINE_TTL_S, size: int = 256):
        self.ttl, self.size = ttl, size
        self._items: dict[tuple, tuple[float, dict[str, float]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> dict[str, float] | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or time.monotonic() - hit[0] > self.ttl:
                return None
            return hit[1]

    def put(self, key: tuple, value: dict[str, float]) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.pop(min(self._items, key=lambda k: self._items[k][0]))
            self._items[key] = (time.monotonic(), value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def heatmap_baseline(client, region: str, day: date, sector: str, resolution: int) -> dict[str, float]:
    rows = client.query(named_query("dashboard_heatmap_baseline"),
                        parameters={"region": region, "day": day, "sector": sector, "resolution": resolution}).result_rows
    return {h3: float(b) for h3, b in rows}


def warm_baselines(run, cache: BaselineCache, region: str, day: date, sectors: list[str], resolutions=(7, 8)) -> int:
    """Compute the heat-map baselines of a day not in the cache (``run(fn)`` runs ``fn(client)`` on
    the warehouse, one query at a time, so requests go between them); returns how many were computed.
    The dashboard keeps today's warm (``AppContext.keep_baselines_warm``): its first map is not a
    28-day count."""
    done = 0
    for resolution in resolutions:
        for sector in sectors:
            key = (region, day, sector, resolution)
            if cache.get(key) is None:
                cache.put(key, run(lambda c: heatmap_baseline(c, region, day, sector, resolution)))
                done += 1
    return done


def heatmap_cells(client, region: str, day: date, sector: str, resolution: int, cache: BaselineCache | None = None) -> list[dict]:
    """H3 cells with incidents on the day: h3, municipality, settlement, incidents, baseline, tension
    (the definition of report_heatmap_daily), most tense first."""
    cells = _rows(client, "dashboard_heatmap_day", region=region, day=day, sector=sector, resolution=resolution)
    if not cells:
        return []
    key = (region, day, sector, resolution)
    baseline = cache.get(key) if cache is not None else None
    if baseline is None:
        baseline = heatmap_baseline(client, region, day, sector, resolution)
        if cache is not None:
            cache.put(key, baseline)
    for c in cells:
        c["incidents"] = int(c["incidents"])
        c["baseline"] = baseline.get(c["h3"], 0.0)
        c["tension"] = (c["incidents"] + 1) / (c["baseline"] + 1)
    cells.sort(key=lambda c: (-c["tension"], -c["incidents"], c["h3"]))
    return cells


def incident_details(client, ids: list[str], now: datetime | None = None) -> dict[str, dict]:
    """Incident id → the incident with its current state (incident_details.sql + incident_states.sql),
    the next deadline and the seconds left to it (negative: overdue)."""
    if not ids:
        return {}
    now = now or datetime.now(timezone.utc)
    states = {r["incident_id"]: r for r in _rows(client, "incident_states", ids=list(ids))}
    out = {}
    for r in _rows(client, "incident_details", ids=list(ids)):
        st = states.get(r["incident_id"])
        r["status"] = st["current_status"] if st else "new"
        r["last_comment"] = st["last_comment"] if st else ""
        r["first_answer_at"] = st["first_answer_at"] if st else None
        r["resolved_at"] = st["resolved_at"] if st else None
        for k in ("first_seen", "last_seen", "first_answer_due", "resolution_due", "first_answer_at", "resolved_at"):
            r[k] = utc(r[k])
        r["updated_at"] = max(r["last_seen"], utc(st["last_event_at"])) if st else r["last_seen"]
        if r["status"] in CLOSED_STATUSES:
            r["next_deadline"], r["deadline_kind"] = None, None
        elif r["first_answer_at"] is None:
            r["next_deadline"], r["deadline_kind"] = r["first_answer_due"], "first_answer"
        else:
            r["next_deadline"], r["deadline_kind"] = r["resolution_due"], "resolution"
        due = r["next_deadline"]
        r["seconds_to_deadline"] = None if due is None else int((due - now).total_seconds())
        r["first_answer_overdue"] = r["first_answer_at"] is None and r["first_answer_due"] is not None and now > r["first_answer_due"]
        r["resolution_overdue"] = r["resolved_at"] is None and r["resolution_due"] is not None and now > r["resolution_due"]
        out[r["incident_id"]] = r
    return out


def incidents(client, region: str, day: date, sector: str, limit: int, now: datetime | None = None) -> list[dict]:
    """The newest incidents of a region-day with their state, newest first."""
    newest = client.query(named_query("dashboard_newest_incidents"),
                          parameters={"region": region, "day": day, "sector": sector, "limit": limit}).result_rows
    ids = [r[0] for r in newest]
    details = incident_details(client, ids, now)
    return [details[i] for i in ids if i in details]


def sla_table(client, region: str, day: date) -> list[dict]:
    rows = _rows(client, "dashboard_sla", region=region, day=day)
    for r in rows:
        r["computed_at"] = utc(r["computed_at"])
    return rows


def chronic(client, region: str, day: date, limit: int) -> list[dict]:
    """The region's latest weekly chronic problems up to the day (report_chronic_problems)."""
    return _rows(client, "dashboard_chronic", region=region, day=day, limit=limit)


def alerts(client, region: str, day: date, sector: str, limit: int) -> list[dict]:
    rows = _rows(client, "dashboard_alerts", region=region, day=day, sector=sector, limit=limit)
    for r in rows:
        for k in ("window_start", "window_end", "created_at"):
            r[k] = utc(r[k])
    return rows


def open311_request_ids(client, *, start: datetime, end: datetime, region: str, sectors: list[str], status: str,
                        bbox: tuple[float, float, float, float] | None, limit: int, offset: int) -> list[str]:
    """Incident ids of an Open311 query (sql/queries/open311_requests.sql), newest first."""
    msk = MSK
    min_lon, min_lat, max_lon, max_lat = bbox or (0.0, 0.0, 0.0, 0.0)
    params = {"day_from": start.astimezone(msk).date(), "day_to": end.astimezone(msk).date(), "start": start, "end": end,
              "region": region, "sectors": sectors, "status": status, "use_bbox": bbox is not None,
              "min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat, "limit": limit, "offset": offset}
    return [r[0] for r in client.query(named_query("open311_requests"), parameters=params).result_rows]


def post_incident(client, post_id: str) -> dict | None:
    rows = _rows(client, "post_incident", post_id=post_id)
    if not rows:
        return None
    rows[0]["created_at"] = utc(rows[0]["created_at"])
    return rows[0]
