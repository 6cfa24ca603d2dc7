"""JSON for the built-in dashboard (api/static): regions, days, municipal polygons, the day's H3
tension cells, the newest incidents, the SLA table and the alerts feed of a region."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from types import SimpleNamespace
from typing import Literal

import h3
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from api import queries
from api.context import KEY_HEADER, AppContext, context, presented_key
from api.queries import MSK
from nlp.corpus import SECTORS
from reports.chronic import explain, trend_label
from reports.heatmap import SECTOR_RU

router = APIRouter(prefix="/api", tags=["dashboard"])
Sector = Literal[("all",) + SECTORS]  # type: ignore[valid-type]
DAY = Query(..., ge=date(2005, 1, 1), le=date(2100, 1, 1), description="Moscow calendar day")


def _region(ctx: AppContext, region: str) -> str:
    if region not in ctx.settings.regions:
        raise HTTPException(404, f"region {region[:60]!r} is not served; TSUR_REGIONS has {', '.join(ctx.settings.regions)}")
    return region


@lru_cache(maxsize=200_000)
def cell_geometry(cell: str) -> str:
    """The GeoJSON Polygon of an H3 cell, serialised (h3 gives (lat, lon) pairs; the ring is closed);
    cells never move, so the text is kept (≈250 bytes each)."""
    ring = [[round(lon, 5), round(lat, 5)] for lat, lon in h3.cell_to_boundary(cell)]
    return json.dumps({"type": "Polygon", "coordinates": [ring + ring[:1]]}, separators=(",", ":"))


def _read(request: Request, ctx: AppContext, fn):
    result, _ = ctx.run(fn, "read", presented_key(request))
    return result


@router.get("/meta", summary="Regions, sectors and whether reads need a key")
def meta(ctx: AppContext = Depends(context)) -> dict:
    return {
        "regions": list(ctx.settings.regions),
        "sectors": [{"code": "all", "name": SECTOR_RU["all"]}] + [{"code": s, "name": SECTOR_RU.get(s, s)} for s in SECTORS],
        "read_key_required": ctx.settings.api_read_key,
        "key_header": KEY_HEADER,
        "today": datetime.now(MSK).date().isoformat(),
    }


@router.get("/days", summary="Days with incidents in the last 90 days, newest first")
def days(request: Request, region: str = Query(..., max_length=200), ctx: AppContext = Depends(context)) -> dict:
    region = _region(ctx, region)
    today = datetime.now(MSK).date()
    rows = _read(request, ctx, lambda c: queries.days(c, region, today - timedelta(days=90)))
    items = [{"day": r["day"].isoformat(), "incidents": int(r["incidents"])} for r in rows if r["day"] <= today + timedelta(days=1)]
    return {"region": region, "days": items, "latest": items[0]["day"] if items else today.isoformat()}


@router.get("/areas", summary="Approximate municipal polygons of the region (GeoJSON)")
def areas(request: Request, region: str = Query(..., max_length=200), ctx: AppContext = Depends(context)) -> Response:
    region = _region(ctx, region)
    if ctx.settings.api_read_key:
        _read(request, ctx, lambda c: None)
    return Response(ctx.areas_geojson(region), media_type="application/geo+json")


@router.get("/heatmap", summary="H3 tension cells of a region-day and sector (GeoJSON)", response_class=Response,
            responses={200: {"content": {"application/geo+json": {}}, "description": "a FeatureCollection of H3 cell polygons"}})
def heatmap(request: Request, region: str = Query(..., max_length=200), day: date = DAY, sector: Sector = "all",
            resolution: int = Query(7, ge=7, le=8, description="H3 resolution: 7 (≈5 km²) or 8 (≈0.7 km²)"),
            ctx: AppContext = Depends(context)) -> Response:
    region = _region(ctx, region)
    cells = _read(request, ctx, lambda c: queries.heatmap_cells(c, region, day, sector, resolution, ctx.baselines))
    # written by hand around pre-serialised cell polygons: a day can have thousands of cells, and
    # serialising their coordinates every time was a third of the request
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    features = ",".join(
        '{"type":"Feature","geometry":' + cell_geometry(c["h3"]) + ',"properties":' + dumps(
            {"h3": c["h3"], "municipality": c["municipality"], "settlement": c["settlement"], "incidents": c["incidents"],
             "baseline": round(c["baseline"], 3), "tension": round(c["tension"], 3)}) + "}"
        for c in cells)
    props = dumps({"region": region, "day": day.isoformat(), "sector": sector, "resolution": resolution,
                   "incidents": sum(c["incidents"] for c in cells)})
    body = '{"type":"FeatureCollection","features":[' + features + '],"properties":' + props + "}"
    return Response(body, media_type="application/geo+json")


@router.get("/incidents", summary="The newest incidents of a region-day with status and time to the deadline")
def incidents(request: Request, region: str = Query(..., max_length=200), day: date = DAY, sector: Sector = "all",
              limit: int = Query(50, ge=1, le=500), ctx: AppContext = Depends(context)) -> dict:
    region = _region(ctx, region)
    now = datetime.now(timezone.utc)
    rows = _read(request, ctx, lambda c: queries.incidents(c, region, day, sector, limit, now))
    keep = ("incident_id", "municipality", "settlement", "sector", "title", "status", "first_seen", "responsible_body",
            "next_deadline", "deadline_kind", "seconds_to_deadline", "first_answer_overdue", "resolution_overdue", "posts_count",
            "source_url", "urgency", "sector_confidence", "needs_review", "reopened")
    items = [{k: r[k] for k in keep} for r in rows]
    for it in items:
        it["sector_name"] = SECTOR_RU.get(it["sector"], it["sector"])
        it["posts_count"] = int(it["posts_count"])
        it["urgency"] = round(float(it["urgency"]), 2)
        it["sector_confidence"] = round(float(it["sector_confidence"]), 3)
        it["needs_review"] = bool(it["needs_review"])
        it["reopened"] = int(it["reopened"])
    return {"region": region, "day": day.isoformat(), "sector": sector, "now": now.isoformat(), "items": items}


@router.get("/sla", summary="SLA per municipality for the 7 days ending on the day (report_sla_daily)")
def sla(request: Request, region: str = Query(..., max_length=200), day: date = DAY, ctx: AppContext = Depends(context)) -> dict:
    region = _region(ctx, region)
    rows = _read(request, ctx, lambda c: queries.sla_table(c, region, day))
    for r in rows:
        share = r["within_deadline_share"]
        r["within_deadline_share"] = None if share is None else round(float(share), 4)
    return {"region": region, "day": day.isoformat(), "computed": bool(rows), "rows": rows}


@router.get("/chronic", summary="Chronic problems: the latest weekly place × sector pairs with recurring incidents")
def chronic(request: Request, region: str = Query(..., max_length=200), day: date = DAY,
            limit: int = Query(20, ge=1, le=500), ctx: AppContext = Depends(context)) -> dict:
    region = _region(ctx, region)
    rows = _read(request, ctx, lambda c: queries.chronic(c, region, day, limit))
    for r in rows:
        r["sector_name"] = SECTOR_RU.get(r["sector"], r["sector"])
        for k in ("incidents", "recent", "earlier", "reopened", "posts"):
            r[k] = int(r[k])
        r["score"] = round(float(r["score"]), 2)
        r["trend"] = trend_label(r["recent"], r["earlier"])
        r["why"] = explain(SimpleNamespace(**r))
        r["day"] = r["day"].isoformat()
    return {"region": region, "day": day.isoformat(), "week": rows[0]["day"] if rows else None, "items": rows}


@router.get("/alerts", summary="Alerts of the 7 days ending on the day (tension bursts, missing persons), newest first")
def alerts(request: Request, region: str = Query(..., max_length=200), day: date = DAY, sector: Sector = "all",
           limit: int = Query(50, ge=1, le=500), ctx: AppContext = Depends(context)) -> dict:
    region = _region(ctx, region)
    rows = _read(request, ctx, lambda c: queries.alerts(c, region, day, sector, limit))
    for r in rows:
        r["sector_name"] = SECTOR_RU.get(r["sector"], r["sector"])
        r["observed"] = int(r["observed"])
    return {"region": region, "day": day.isoformat(), "items": rows}
