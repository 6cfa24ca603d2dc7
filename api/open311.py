"""Open311 GeoReport v2 under /open311/v2: services (our sectors), service requests (our
incidents) in JSON and XML, new requests from other systems (→ posts.raw) and operators' status
updates (→ incidents.status). Mapping and auth: docs/dashboard.md."""
from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from typing import Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api import queries
from api.context import KEY_HEADER, AppContext, context, presented_key, publish
from nlp.corpus import SECTORS
from reports.heatmap import SECTOR_RU

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])

MAX_SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_IDS = 100
DESCRIPTION_CHARS = 4000
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

STATUS_RU = {"new": "Новое, ещё не принято в работу", "assigned": "Назначен исполнитель", "answered": "Заявителю дан ответ",
             "in_progress": "В работе", "resolved": "Решено", "rejected": "Отклонено", "reopened": "Открыто повторно"}
SERVICE_DESCRIPTIONS = {
    "healthcare": "Поликлиники, больницы, запись к врачу, лекарственное обеспечение, скорая помощь",
    "education": "Школы, детские сады, кружки, школьный транспорт и питание",
    "transport": "Общественный транспорт: маршруты, расписание, остановки, такси",
    "roads": "Дороги и тротуары: ямы, ремонт, освещение, светофоры, разметка, уборка снега",
    "energy": "Электро- и газоснабжение: отключения, аварии, перепады напряжения",
    "housing": "ЖКХ: водоснабжение, отопление, канализация, управляющие компании, капремонт",
    "waste": "Вывоз твёрдых коммунальных отходов, контейнерные площадки, свалки",
    "social": "Социальная защита: пособия, льготы, помощь пожилым и людям с инвалидностью",
    "landscaping": "Благоустройство: дворы, парки, детские площадки, озеленение, бродячие животные",
    "other": "Прочие обращения, не отнесённые к отраслям выше",
}


def service_name(code: str) -> str:
    name = SECTOR_RU.get(code, code)
    return name[:1].upper() + name[1:]


def services() -> list[dict]:
    return [{"service_code": code, "service_name": service_name(code), "description": SERVICE_DESCRIPTIONS.get(code, ""),
             "metadata": False, "type": "realtime", "keywords": SECTOR_RU.get(code, code), "group": "Обращения граждан"}
            for code in SECTORS]


# ---------------------------------------------------------------- representation
def _w3c(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat(timespec="seconds")


def _address(settlement: str, municipality: str, region: str) -> str | None:
    parts = [p for p in (settlement, municipality, region) if p]
    return ", ".join(dict.fromkeys(parts)) or None


def request_of(d: dict, service_request_id: str | None = None) -> dict:
    """One incident (api.queries.incident_details) as a GeoReport v2 service request."""
    notes = STATUS_RU.get(d["status"], d["status"])
    if d.get("last_comment"):
        notes = f"{notes}: {d['last_comment']}"
    return {
        "service_request_id": service_request_id or d["incident_id"],
        "status": "closed" if d["status"] in queries.CLOSED_STATUSES else "open",
        "status_notes": notes,
        "service_name": service_name(d["sector"]),
        "service_code": d["sector"],
        "description": d["title"],
        "agency_responsible": d["responsible_body"] or None,
        "service_notice": None,
        "requested_datetime": _w3c(d["first_seen"]),
        "updated_datetime": _w3c(d["updated_at"]),
        "expected_datetime": _w3c(d["resolution_due"]),
        "address": _address(d["settlement"], d["municipality"], d["region"]),
        "address_id": None,
        "zipcode": None,
        "lat": d["lat"],
        "long": d["lon"],
        "media_url": None,
        "extended_attributes": {
            "incident_id": d["incident_id"],
            "tsur_status": d["status"],
            "region": d["region"] or None,
            "municipality": d["municipality"] or None,
            "oktmo": d["oktmo"] or None,
            "settlement": d["settlement"] or None,
            "settlement_oktmo": d["settlement_oktmo"] or None,
            "responsible_body": d["responsible_body"] or None,
            "first_answer_due": _w3c(d["first_answer_due"]),
            "resolution_due": _w3c(d["resolution_due"]),
            "first_answer_at": _w3c(d["first_answer_at"]),
            "resolved_at": _w3c(d["resolved_at"]),
            "first_answer_overdue": bool(d["first_answer_overdue"]),
            "resolution_overdue": bool(d["resolution_overdue"]),
            "posts_count": int(d["posts_count"]),
            "urgency": round(float(d["urgency"]), 3),
            "h3": d["h3"] or None,
            "source_url": d["source_url"] or None,
        },
    }


def request_of_post(p: dict, service_request_id: str) -> dict:
    """A stored post that did not become an incident (not a complaint): closed, with a note."""
    return {
        "service_request_id": service_request_id, "status": "closed",
        "status_notes": "Сообщение обработано: не распознано как жалоба, обращение не заведено",
        "service_name": service_name(p["sector"]) if p["sector"] else None, "service_code": p["sector"] or None,
        "description": None, "agency_responsible": None, "service_notice": None,
        "requested_datetime": _w3c(p["created_at"]), "updated_datetime": _w3c(p["created_at"]), "expected_datetime": None,
        "address": _address(p["settlement"], p["municipality"], p["region"]), "address_id": None, "zipcode": None,
        "lat": p["lat"], "long": p["lon"], "media_url": None,
        "extended_attributes": {"incident_id": None, "tsur_status": "not_a_complaint", "region": p["region"] or None,
                                "municipality": p["municipality"] or None, "oktmo": p["oktmo"] or None,
                                "settlement": p["settlement"] or None},
    }


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_value(parent: ET.Element, tag: str, value) -> None:
    el = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_value(el, k, v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = _NOT_XML.sub("", str(value))   # characters XML 1.0 cannot carry


def xml_document(root: str, item: str, items: list[dict]) -> bytes:
    top = ET.Element(root)
    for obj in items:
        _xml_value(top, item, obj)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def respond(fmt: str, root: str, item: str, items: list[dict], status_code: int = 200) -> Response:
    if fmt == "xml":
        return Response(xml_document(root, item, items), status_code=status_code, media_type="text/xml; charset=utf-8")
    return Response(json.dumps(items, ensure_ascii=False), status_code=status_code, media_type="application/json")


def error_response(path: str, code: int, description: str, headers: dict | None = None) -> Response:
    """Errors as the spec has them: a list of {code, description}, in the format of the URL."""
    fmt = "xml" if path.endswith(".xml") else "json"
    resp = respond(fmt, "errors", "error", [{"code": code, "description": description}], status_code=code)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


# ---------------------------------------------------------------- parameters
def _bad(description: str) -> HTTPException:
    return HTTPException(400, description)


def parse_w3c(value: str, name: str) -> datetime:
    """W3C / ISO 8601 date or date-time; without a zone it is UTC."""
    text = value.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            parsed = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            parsed = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise _bad(f"{name}={value[:40]!r} is not a W3C date-time, e.g. 2026-11-20T00:00:00+03:00") from None
    if not 2005 <= parsed.year <= 2100:
        raise _bad(f"{name} must be between 2005 and 2100")
    return parsed


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """lon1,lat1,lon2,lat2 (two opposite corners, WGS 84) → (min lon, min lat, max lon, max lat)."""
    parts = value.split(",")
    try:
        lon1, lat1, lon2, lat2 = (float(p) for p in parts)
    except ValueError:
        raise _bad("bbox must be four numbers lon1,lat1,lon2,lat2 (WGS 84 degrees)") from None
    if not all(math.isfinite(v) for v in (lon1, lat1, lon2, lat2)) or max(abs(lon1), abs(lon2)) > 180 or max(abs(lat1), abs(lat2)) > 90:
        raise _bad("bbox: longitudes must be within ±180 and latitudes within ±90")
    return min(lon1, lon2), min(lat1, lat2), max(lon1, lon2), max(lat1, lat2)


def _codes(value: str | None) -> list[str]:
    codes = [c.strip() for c in (value or "").split(",") if c.strip()]
    unknown = [c for c in codes if c not in SECTORS]
    if unknown:
        raise _bad(f"unknown service_code {unknown[0][:40]!r}; see services.json")
    return codes


def _jurisdiction(ctx: AppContext, value: str | None) -> str:
    if value is None or value.strip() == "":
        return ""
    if value.strip() not in ctx.settings.regions:
        raise HTTPException(404, f"jurisdiction_id {value[:60]!r} is not served here; served: {', '.join(ctx.settings.regions)}")
    return value.strip()


def _valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


def resolve(client, rid: str) -> dict | None:
    """A service request by id: an incident id, or the post id a POST returned (→ its incident)."""
    d = queries.incident_details(client, [rid])
    if rid in d:
        return request_of(d[rid])
    p = queries.post_incident(client, rid)
    if p is None:
        return None
    if p["incident_id"]:
        d = queries.incident_details(client, [p["incident_id"]])
        if p["incident_id"] in d:
            return request_of(d[p["incident_id"]], service_request_id=rid)
    return request_of_post(p, rid)


# ---------------------------------------------------------------- GET
FORMATS = ("json", "xml")
_KEY_DOC = f"an API key (any scope) when the server runs with TSUR_API_READ_KEY=on; the {KEY_HEADER} header works too"
_ERRORS = {400: {"description": "bad parameter: [{code, description}]"}, 401: {"description": "an API key is missing or not valid"},
           403: {"description": "the API key's scope does not allow this"}, 404: {"description": "not found"},
           503: {"description": "the warehouse or the broker is unavailable"}}


def _services(fmt: str):
    def endpoint(request: Request, jurisdiction_id: str | None = Query(None, max_length=200, description="a region in TSUR_REGIONS (optional)"),
                 api_key: str | None = Query(None, max_length=200, description=_KEY_DOC),
                 ctx: AppContext = Depends(context)) -> Response:
        _jurisdiction(ctx, jurisdiction_id)
        if ctx.settings.api_read_key:
            ctx.run(lambda c: None, "read", presented_key(request, api_key))
        return respond(fmt, "services", "service", services())

    endpoint.__name__ = f"services_{fmt}"
    return endpoint


def _requests(fmt: str):
    def endpoint(
        request: Request,
        jurisdiction_id: str | None = Query(None, max_length=200, description="a region in TSUR_REGIONS; default: all served regions"),
        service_request_id: str | None = Query(None, max_length=20_000, description="comma-delimited ids; overrides every other filter"),
        service_code: str | None = Query(None, max_length=2_000, description="comma-delimited sector codes (services.json)"),
        start_date: str | None = Query(None, max_length=64, description="earliest requested_datetime (W3C); default end_date − 90 days"),
        end_date: str | None = Query(None, max_length=64, description="latest requested_datetime (W3C, exclusive); default now"),
        status: str | None = Query(None, max_length=64, description="open, closed or open,closed"),
        bbox: str | None = Query(None, max_length=200, description="extension: lon1,lat1,lon2,lat2 — requests with coordinates in the box"),
        page: int = Query(1, ge=1, le=10_000, description="extension: page number, newest first"),
        page_size: int = Query(100, ge=1, le=MAX_PAGE_SIZE, description="extension: requests per page"),
        api_key: str | None = Query(None, max_length=200, description=_KEY_DOC),
        ctx: AppContext = Depends(context),
    ) -> Response:
        region = _jurisdiction(ctx, jurisdiction_id)
        key = presented_key(request, api_key)
        if service_request_id is not None and service_request_id.strip():
            ids = list(dict.fromkeys(i.strip() for i in service_request_id.split(",") if i.strip()))[:MAX_IDS]

            def by_ids(client):
                found = [resolve(client, i) for i in ids if _valid_id(i)]
                return [r for r in found if r is not None]

            items, _ = ctx.run(by_ids, "read", key)
            return respond(fmt, "service_requests", "request", items)
        now = datetime.now(timezone.utc)
        end = parse_w3c(end_date, "end_date") if end_date else None
        start = parse_w3c(start_date, "start_date") if start_date else None
        if start is None and end is None:
            end = now
        if start is None:
            start = end - MAX_SPAN
        if end is None:
            end = min(now, start + MAX_SPAN) if start < now else start + MAX_SPAN
        if end <= start:
            raise _bad("end_date must be after start_date")
        if end - start > MAX_SPAN:
            raise _bad("start_date .. end_date may not span more than 90 days")
        statuses = {s.strip() for s in (status or "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise _bad("status must be open, closed or both (comma-delimited)")
        wanted = statuses.pop() if len(statuses) == 1 else ""
        sectors = _codes(service_code)
        box = parse_bbox(bbox) if bbox else None

        def search(client):
            ids = queries.open311_request_ids(client, start=start, end=end, region=region, sectors=sectors, status=wanted, bbox=box,
                                              limit=page_size, offset=(page - 1) * page_size)
            details = queries.incident_details(client, ids, now)
            return [request_of(details[i]) for i in ids if i in details]

        items, _ = ctx.run(search, "read", key)
        return respond(fmt, "service_requests", "request", items)

    endpoint.__name__ = f"requests_{fmt}"
    return endpoint


def _request(fmt: str):
    def endpoint(request: Request,
                 service_request_id: str = Path(..., max_length=128, description="an incident id, or the post id POST requests returned"),
                 jurisdiction_id: str | None = Query(None, max_length=200),
                 api_key: str | None = Query(None, max_length=200, description=_KEY_DOC),
                 ctx: AppContext = Depends(context)) -> Response:
        _jurisdiction(ctx, jurisdiction_id)
        rid = service_request_id.strip()
        found, _ = ctx.run(lambda c: resolve(c, rid) if _valid_id(rid) else None, "read", presented_key(request, api_key))
        if found is None:
            raise HTTPException(404, f"no service request {rid[:128]!r} (a report sent by POST appears once the worker has stored it)")
        return respond(fmt, "service_requests", "request", [found])

    endpoint.__name__ = f"request_{fmt}"
    return endpoint


for _fmt in FORMATS:
    media = "text/xml" if _fmt == "xml" else "application/json"
    router.add_api_route(f"/services.{_fmt}", _services(_fmt), methods=["GET"], response_class=Response, responses=_ERRORS,
                         summary=f"Services (our sectors), {_fmt.upper()}")
    router.add_api_route(f"/requests.{_fmt}", _requests(_fmt), methods=["GET"], response_class=Response, responses=_ERRORS,
                         summary=f"Service requests (incidents), {_fmt.upper()}")
    router.add_api_route(f"/requests/{{service_request_id}}.{_fmt}", _request(_fmt), methods=["GET"], response_class=Response,
                         responses=_ERRORS, summary=f"One service request, {_fmt.upper()}")


# ---------------------------------------------------------------- POST a new request → posts.raw
_NEW_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["service_code", "description"],
    "properties": {
        "api_key": {"type": "string", "description": f"a write key (or the {KEY_HEADER} header)"},
        "jurisdiction_id": {"type": "string", "description": "a region in TSUR_REGIONS"},
        "service_code": {"type": "string", "enum": list(SECTORS)},
        "description": {"type": "string", "maxLength": DESCRIPTION_CHARS, "description": "the text of the report (required here)"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": {"type": "string", "maxLength": 256},
        "email": {"type": "string"}, "device_id": {"type": "string"}, "account_id": {"type": "string"},
        "first_name": {"type": "string"}, "last_name": {"type": "string"}, "phone": {"type": "string"},
        "media_url": {"type": "string", "maxLength": 2048},
        "external_id": {"type": "string", "maxLength": 100,
                        "description": "extension: the report's id in the sending system; re-sending it gives the same service_request_id"},
    },
}
_NEW_REQUEST_DOC = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": _NEW_REQUEST_SCHEMA},
    "application/json": {"schema": _NEW_REQUEST_SCHEMA}}}}


def _form(body: bytes, content_type: str) -> dict:
    """The POST body as a dict: form-encoded (the spec) or a JSON object."""
    try:
        if content_type.startswith("application/json"):
            obj = json.loads(body.decode("utf-8")) if body else {}
            if not isinstance(obj, dict):
                raise _bad("the JSON body must be an object")
            return obj
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad("the body is not valid UTF-8 form data or JSON") from None


def _text(form: dict, name: str, limit: int) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _bad(f"{name} must be text")
    value = str(value).strip()
    if len(value) > limit:
        raise _bad(f"{name} is longer than {limit} characters")
    return value


def _number(form: dict, name: str, bound: float) -> float | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise _bad(f"{name} must be a number") from None
    if not -bound <= number <= bound:
        raise _bad(f"{name} must be within ±{bound:g}")
    return number


def raw_post_of(form: dict, organisation: str, regions: tuple[str, ...], now: datetime) -> dict:
    """A GeoReport v2 POST as our raw post (docs/post-schema.md), source 'open311'. Our classifier
    sets the sector from the text; the sender's service_code is checked, not stored."""
    code = _text(form, "service_code", 64)
    if code not in SECTORS:
        raise _bad("service_code is required and must be one of services.json")
    text = _text(form, "description", DESCRIPTION_CHARS)
    if not text:
        raise _bad("description (the text of the report) is required")
    lat, lon = _number(form, "lat", 90), _number(form, "long", 180)
    address = _text(form, "address_string", 256)
    if (lat is None) != (lon is None):
        raise _bad("lat and long go together")
    if lat is None and not address:
        raise _bad("a location is required: lat and long, or address_string (address_id is not supported)")
    jurisdiction = _text(form, "jurisdiction_id", 200)
    if jurisdiction and jurisdiction not in regions:
        raise HTTPException(404, f"jurisdiction_id {jurisdiction[:60]!r} is not served here; served: {', '.join(regions)}")
    region = jurisdiction or (regions[0] if len(regions) == 1 else "")
    org_tag = hashlib.sha256(organisation.encode()).hexdigest()[:12]
    external = _text(form, "external_id", 100)
    author = next((v for v in (_text(form, n, 256) for n in ("account_id", "email", "phone", "device_id")) if v), "")
    post = {
        "source": "open311",
        "id": f"{org_tag}:{external or uuid.uuid4().hex}",
        "text": text,
        "created_at": now.isoformat(),
        "community_id": org_tag,
        "community_name": organisation,
        "url": _text(form, "media_url", 2048),
        "place_hint": address,
    }
    if author:
        post["author_id"] = f"open311:{org_tag}:{author}"
    if region:
        post["region_hint"] = region
    if lat is not None:
        post["geo"] = {"lat": lat, "lon": lon}
    return post


def _new_request(fmt: str):
    async def endpoint(request: Request, ctx: AppContext = Depends(context)) -> Response:
        form = _form(await request.body(), request.headers.get("content-type", ""))
        api_key = form.get("api_key") if isinstance(form.get("api_key"), str) else None
        _, key = await run_in_threadpool(ctx.run, lambda c: None, "write", presented_key(request, api_key))
        now = datetime.now(timezone.utc)
        post = raw_post_of(form, key.organisation, ctx.settings.regions, now)
        from intake.raw_post import Rejection, parse_raw_post

        checked = parse_raw_post(post, ctx.settings.pseudonym_key, now=now)
        if isinstance(checked, Rejection):
            raise _bad(checked.reason)
        await run_in_threadpool(publish, ctx, "posts_raw", [post])
        notice = "Сообщение принято и будет обработано в течение минуты; номер обращения — service_request_id."
        return respond(fmt, "service_requests", "request",
                       [{"service_request_id": checked.post_id, "service_notice": notice, "account_id": None}], status_code=201)

    endpoint.__name__ = f"create_request_{fmt}"
    return endpoint


for _fmt in FORMATS:
    router.add_api_route(f"/requests.{_fmt}", _new_request(_fmt), methods=["POST"], response_class=Response, status_code=201,
                         openapi_extra=_NEW_REQUEST_DOC, responses={201: {"description": "[{service_request_id, service_notice, account_id}]"},
                                                                    **_ERRORS},
                         summary=f"A new service request from another system (→ posts.raw), {_fmt.upper()} response")


# ---------------------------------------------------------------- status updates → incidents.status
class StatusUpdate(BaseModel):
    status: Literal["assigned", "answered", "in_progress", "resolved", "rejected", "reopened"]
    at: datetime | None = Field(None, description="when it happened (ISO 8601); default now; not in the future")
    comment: str = Field("", max_length=4000)
    actor: str | None = Field(None, max_length=200, description="the person; recorded as '<organisation> / <actor>'")
    sector: Literal[SECTORS] | None = Field(None, description="extension: the incident's correct sector (a correction; "
                                            "the incident is re-routed and the correction kept as a labelled example)")


@router.post("/requests/{service_request_id}/status.json", status_code=202, response_class=Response, responses=_ERRORS,
             summary="An operator's status update (write key in X-API-Key) → incidents.status")
def update_status(request: Request, body: StatusUpdate,
                  service_request_id: str = Path(..., max_length=128, description="an incident id, or the post id of a request"),
                  ctx: AppContext = Depends(context)) -> Response:
    from streams.status_events import parse_status_event

    rid = service_request_id.strip()

    def incident_id(client):
        if not _valid_id(rid):
            return None
        if queries.incident_details(client, [rid]):
            return rid
        p = queries.post_incident(client, rid)
        return p["incident_id"] if p and p["incident_id"] else None

    iid, key = ctx.run(incident_id, "write", presented_key(request))
    if iid is None:
        raise HTTPException(404, f"no incident {rid[:128]!r}")
    now = datetime.now(timezone.utc)
    try:
        at = body.at if body.at is not None else now
        at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise _bad("at is not a usable time") from None
    actor = key.organisation if not body.actor else f"{key.organisation} / {body.actor.strip()}"
    event = {"incident_id": iid, "status": body.status, "at": at.isoformat(), "actor": actor, "comment": body.comment}
    if body.sector:
        event["sector"] = body.sector
    checked = parse_status_event(event, now)
    if isinstance(checked, str):
        raise _bad(checked)
    event["event_id"] = checked[0]
    publish(ctx, "incidents_status", [event])
    return Response(json.dumps({**event, "topic": ctx.settings.topics["incidents_status"]}, ensure_ascii=False),
                    status_code=202, media_type="application/json")
