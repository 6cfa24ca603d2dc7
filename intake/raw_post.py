"""The raw post: our plain JSON schema (docs/post-schema.md), validated into a typed value.

``parse_raw_post(payload, key)`` returns a :class:`RawPost` or a :class:`Rejection` with a
reason; it never raises on bad input, so the stream can send rejections to the dead-letter topic.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from intake.privacy import mask_pii, pseudonymise

MAX_TEXT_CHARS = 100_000
MAX_PAYLOAD_BYTES = 1_000_000
EARLIEST = datetime(2005, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)
_SOURCE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")

COLUMNS = (
    "post_id", "source", "source_post_id", "community_id", "community_name", "author_hash", "text",
    "created_at", "ingested_at", "url", "lat", "lon", "region_hint", "place_hint",
)


@dataclass(frozen=True)
class Rejection:
    reason: str


@dataclass(frozen=True)
class RawPost:
    post_id: str
    source: str
    source_post_id: str
    community_id: str
    community_name: str
    author_hash: str
    text: str
    created_at: datetime
    ingested_at: datetime
    url: str
    lat: float | None
    lon: float | None
    region_hint: str
    place_hint: str

    def row(self) -> list:
        return [getattr(self, c) for c in COLUMNS]


def post_id_for(source: str, source_post_id: str) -> str:
    """Deterministic id: the same source post always maps to the same id (idempotent sink)."""
    return hashlib.sha256(f"{source}\x1f{source_post_id}".encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _clean_text(value: str) -> str:
    return _CONTROL.sub(" ", value).strip()


def _valid_unicode(value: str) -> bool:
    """False for text with unpaired surrogates (JSON '\\ud800'): it cannot be stored as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scalar_text(name: str, value, limit: int) -> str | Rejection:
    """A string or integer field as clean text (ints are written in decimal), checked for length
    and valid Unicode before and after cleaning."""
    if isinstance(value, int):
        if value.bit_length() > 4 * limit:   # str() of a huge int is slow and may raise: surely too long
            return Rejection(f"field {name!r} is longer than {limit} characters")
        value = str(value)
    if len(value) > 4 * limit + 1000:
        return Rejection(f"field {name!r} is longer than {limit} characters")
    if not _valid_unicode(value):
        return Rejection(f"field {name!r} holds unpaired surrogates (not valid Unicode)")
    value = _clean_text(value)
    if len(value) > limit:
        return Rejection(f"field {name!r} is longer than {limit} characters")
    return value


def _opt_str(d: dict, name: str, limit: int = 1000) -> str | Rejection:
    value = d.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return Rejection(f"field {name!r} must be a string, got {type(value).__name__}")
    return _scalar_text(name, value, limit)


def parse_time(value) -> datetime | Rejection:
    """ISO 8601 (with or without zone; naive is UTC) or Unix seconds; returns aware UTC."""
    if value is None:
        return Rejection("field 'created_at' is missing")
    if isinstance(value, bool):
        return Rejection("field 'created_at' must be ISO 8601 text or Unix seconds, got bool")
    try:
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                return Rejection("field 'created_at' is not a finite number")
            ts = datetime.fromtimestamp(value, tz=timezone.utc)
        elif isinstance(value, str):
            ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            ts = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
        else:
            return Rejection(f"field 'created_at' must be ISO 8601 text or Unix seconds, got {type(value).__name__}")
    except (ValueError, OverflowError, OSError):
        shown = f"an integer of {value.bit_length()} bits" if isinstance(value, int) and value.bit_length() > 128 else repr(str(value)[:40])
        return Rejection(f"field 'created_at' is not a valid time: {shown}")
    return ts


def parse_raw_post(payload, key: bytes, now: datetime | None = None) -> RawPost | Rejection:
    """Validate one raw post (bytes, str or an already-decoded dict)."""
    now = now or datetime.now(timezone.utc)
    if isinstance(payload, (bytes, bytearray, memoryview)):
        if len(payload) > MAX_PAYLOAD_BYTES:
            return Rejection(f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            return Rejection("payload is not valid UTF-8")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except RecursionError:
            return Rejection("payload is not valid JSON: nested too deeply")
        except ValueError as exc:
            return Rejection(f"payload is not valid JSON: {str(exc)[:120]}")
    if not isinstance(payload, dict):
        return Rejection(f"payload must be a JSON object, got {type(payload).__name__}")

    source = payload.get("source")
    if not isinstance(source, str) or not _SOURCE_RE.fullmatch(source):
        return Rejection("field 'source' must be a short lower-case name like 'vk', 'telegram', 'portal'")
    sid = payload.get("id")
    if isinstance(sid, bool) or not isinstance(sid, (str, int)):
        return Rejection("field 'id' (the post id at the source) is missing or not a string/integer")
    sid = _scalar_text("id", sid, 128)
    if isinstance(sid, Rejection):
        return sid
    if not sid:
        return Rejection("field 'id' (the post id at the source) is empty (or only spaces and control characters)")
    text = payload.get("text")
    if not isinstance(text, str):
        return Rejection("field 'text' is missing or not a string")
    if len(text) > MAX_TEXT_CHARS:
        return Rejection(f"field 'text' is longer than {MAX_TEXT_CHARS} characters")
    if not _valid_unicode(text):
        return Rejection("field 'text' holds unpaired surrogates (not valid Unicode)")
    created = parse_time(payload.get("created_at"))
    if isinstance(created, Rejection):
        return created
    if created < EARLIEST or created > now + FUTURE_SLACK:
        return Rejection(f"field 'created_at' {created.isoformat()} is outside {EARLIEST.date()} .. now + 1 day")

    fields = {}
    for name, limit in (("author_id", 256), ("community_id", 256), ("community_name", 512), ("url", 2048),
                        ("region_hint", 256), ("place_hint", 256)):
        value = _opt_str(payload, name, limit)
        if isinstance(value, Rejection):
            return value
        fields[name] = value

    lat = lon = None
    geo = payload.get("geo")
    if geo is not None:
        if not isinstance(geo, dict):
            return Rejection("field 'geo' must be an object {lat, lon}")
        lat, lon = geo.get("lat"), geo.get("lon")
        for name, v, bound in (("lat", lat, 90.0), ("lon", lon, 180.0)):
            # a comparison, not math.isfinite: NaN fails it, and a huge integer does not overflow
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not -bound <= v <= bound:
                return Rejection(f"field 'geo.{name}' must be a number within ±{bound:g}")
        lat, lon = float(lat), float(lon)

    return RawPost(
        post_id=post_id_for(source, sid),
        source=source,
        source_post_id=sid,
        community_id=fields["community_id"],
        community_name=fields["community_name"],
        author_hash=pseudonymise(fields["author_id"], key),
        text=mask_pii(_clean_text(text)),
        created_at=created,
        ingested_at=now,
        url=fields["url"],
        lat=lat,
        lon=lon,
        region_hint=fields["region_hint"],
        place_hint=fields["place_hint"],
    )
