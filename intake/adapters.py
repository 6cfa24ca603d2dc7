"""Intake adapters: the export and API formats people have, turned into our plain post schema.

Pure functions over already-loaded JSON (stdlib only); the mappings are documented in
docs/post-schema.md, section "Source formats".

- :func:`from_vk` — a VK API ``wall.get`` / ``newsfeed.search`` response (v5.199), its bare
  ``{"items": [...]}`` body, or a single post object;
- :func:`from_telegram_export` — a Telegram Desktop chat export (``result.json``);
- :func:`from_plain` — our own schema (one post or a list), passed through unchanged;
- :func:`detect` — which of the three a loaded document is;
- :func:`posts_from_file` — any of the above from a file (``.json``, ``.jsonl``, ``.csv``, ``-``)
  as the byte payloads ``tsur ingest`` publishes.

Every adapter returns a :class:`Posts` iterator. Items that give no post — ads, service
messages, empty texts, and items that are malformed (the conversion raises) — are skipped, never
raised, and counted in ``Posts.skipped``. Validation of the posts themselves happens downstream
(``intake.raw_post.parse_raw_post`` in the worker), so nothing here checks the schema.
"""
from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")

# What a malformed item can raise while being converted (wrong types, missing keys, bad numbers).
_BAD_ITEM = (AttributeError, KeyError, IndexError, TypeError, ValueError, OverflowError, OSError)


class Posts(Generic[T]):
    """An iterator of converted items that counts the items it skipped.

    ``convert`` turns one source item into a post, or returns ``None`` to skip it; an item for
    which ``convert`` raises is skipped too. ``skipped`` is the number of items skipped so far
    (read it after iterating), including those skipped by an inner ``Posts`` this one reads from.
    """

    def __init__(self, items: Iterable[Any], convert: Callable[[Any], T | None]) -> None:
        self._items = iter(items)
        self._convert = convert
        self._skipped = 0

    @property
    def skipped(self) -> int:
        inner = self._items.skipped if isinstance(self._items, Posts) else 0
        return self._skipped + inner

    def __iter__(self) -> Posts[T]:
        return self

    def __next__(self) -> T:
        for item in self._items:
            try:
                post = self._convert(item)
            except _BAD_ITEM:
                post = None
            if post is not None:
                return post
            self._skipped += 1
        raise StopIteration


def _utc_iso(seconds: int | str) -> str:
    """Unix seconds (an int, or a string of digits as in Telegram exports) as ISO 8601 UTC."""
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc).isoformat()


def _post(**fields: Any) -> dict:
    """A plain post without the optional fields the source did not have."""
    return {k: v for k, v in fields.items() if v is not None}


# ---------------------------------------------------------------- VK
def _vk_text(item: dict) -> str:
    """The post text, or for a repost without own text the text of the reposted post."""
    text = item.get("text") or ""
    if not text.strip():
        text = next((c["text"] for c in item.get("copy_history") or [] if (c.get("text") or "").strip()), "")
    return text


def _vk_geo(geo: dict | None) -> dict | None:
    """``geo.coordinates`` ("lat lon") or else ``geo.place.latitude/longitude``; a malformed geotag
    is dropped (the post is kept without it: a complaint is worth more than its coordinates)."""
    if not isinstance(geo, dict):
        return None
    place = geo.get("place") or {}
    try:
        if geo.get("coordinates"):
            lat, lon = str(geo["coordinates"]).split()
        elif "latitude" in place and "longitude" in place:
            lat, lon = place["latitude"], place["longitude"]
        else:
            return None
        return {"lat": float(lat), "lon": float(lon)}
    except (ValueError, TypeError):
        return None


def vk_post(item: dict, groups: dict[int, dict]) -> dict | None:
    """One VK post object as a plain post; None for an ad or a post without text."""
    text = _vk_text(item)
    if item.get("marked_as_ads") == 1 or not text.strip():
        return None
    owner_id, post_id = int(item["owner_id"]), int(item["id"])
    group = groups.get(-owner_id, {}) if owner_id < 0 else {}
    author = item.get("signer_id") or item.get("from_id")
    return _post(
        source="vk",
        id=f"{owner_id}_{post_id}",
        text=text,
        created_at=_utc_iso(item["date"]),
        author_id=str(author) if author is not None else None,
        community_id=str(-owner_id) if owner_id < 0 else None,
        community_name=group.get("name"),
        url=f"https://vk.com/wall{owner_id}_{post_id}",
        geo=_vk_geo(item.get("geo")),
        place_hint=(group.get("city") or {}).get("title"),
    )


def vk_comment(item: dict, owner_id: int, post_id: int) -> dict | None:
    """One ``wall.getComments`` comment (or a reply in its thread) as a plain post; None for a
    deleted comment or one without text. Its id is ``<owner>_<post>_<comment>``."""
    if item.get("deleted") or not (item.get("text") or "").strip():
        return None
    comment_id = int(item["id"])
    author = item.get("from_id")
    return _post(
        source="vk",
        id=f"{owner_id}_{post_id}_{comment_id}",
        text=item["text"],
        created_at=_utc_iso(item["date"]),
        author_id=str(author) if author is not None else None,
        community_id=str(-owner_id) if owner_id < 0 else None,
        url=f"https://vk.com/wall{owner_id}_{post_id}?reply={comment_id}",
    )


def from_vk(doc: dict) -> Posts[dict]:
    """Posts of a VK ``wall.get`` / ``newsfeed.search`` response, its bare body, or one post.

    Ads (``marked_as_ads`` = 1) and posts without text (own or reposted) are skipped.
    """
    body = doc.get("response", doc)
    items = body["items"] if "items" in body else [body]
    if not isinstance(items, list):
        raise ValueError("VK response: 'items' must be a list")
    groups = {g["id"]: g for g in body.get("groups") or [] if isinstance(g, dict) and "id" in g}
    return Posts(items, lambda item: vk_post(item, groups))


# ---------------------------------------------------------------- OK (Одноклассники)
def ok_topic(topic: dict, gid: str) -> dict | None:
    """One ``mediatopic.getTopics`` topic of a group as a plain post (its text media joined);
    None for a topic without text. Its id is ``<group>_<topic>``."""
    text = "\n".join(m["text"] for m in topic.get("media") or [] if isinstance(m, dict) and m.get("type") == "text"
                     and isinstance(m.get("text"), str) and m["text"].strip())
    if not text.strip():
        return None
    topic_id = str(int(topic["id"]))
    author = str(topic.get("author_ref") or "")
    return _post(
        source="ok",
        id=f"{gid}_{topic_id}",
        text=text,
        created_at=datetime.fromtimestamp(int(topic["created_ms"]) / 1000, tz=timezone.utc).isoformat(),
        author_id=author.split(":", 1)[1] if author.startswith("user:") else None,
        community_id=gid,
        url=f"https://ok.ru/group/{gid}/topic/{topic_id}",
    )


# ---------------------------------------------------------------- Telegram
def _telegram_text(text: str | list) -> str:
    """A message ``text``: a string, or a list of strings and entities ``{"type", "text"}``."""
    if isinstance(text, str):
        return text
    return "".join(piece if isinstance(piece, str) else piece.get("text", "") for piece in text)


def _telegram_post(msg: dict, chat_id: str, chat_name: str | None) -> dict | None:
    """One exported message as a plain post; None for a service message or an empty text."""
    if msg.get("type") != "message":
        return None
    text = _telegram_text(msg.get("text", ""))
    if not text.strip():
        return None
    message_id = int(msg["id"])
    return _post(
        source="telegram",
        id=f"{chat_id}_{message_id}",
        text=text,
        created_at=_utc_iso(msg["date_unixtime"]) if "date_unixtime" in msg else msg["date"],
        author_id=msg.get("from_id"),
        community_id=chat_id,
        community_name=chat_name,
        url=f"https://t.me/c/{chat_id}/{message_id}",
    )


def from_telegram_export(doc: dict) -> Posts[dict]:
    """Posts of a Telegram Desktop chat export (``result.json`` of one channel or group).

    Only ``type == "message"`` with non-empty text; service messages and empty texts are skipped.
    ``date`` (local time without a zone) is kept as given when ``date_unixtime`` is absent.
    """
    messages = doc["messages"]
    if not isinstance(messages, list):
        raise ValueError("Telegram export: 'messages' must be a list")
    chat_id = str(doc["id"])
    return Posts(messages, lambda msg: _telegram_post(msg, chat_id, doc.get("name")))


TG_MESSAGES = ("message", "channel_post", "edited_message", "edited_channel_post")


def telegram_update(update: dict) -> dict | None:
    """A Telegram Bot API update (webhook or getUpdates) as a plain post; None for an update
    without a text message or caption (joins, stickers, polls …).
    A chat with a public name gets the web preview's ids (``<name>/<message>``), so a channel
    read both ways is stored once; other chats ``<chat id>_<message>``."""
    msg = next((update[k] for k in TG_MESSAGES if isinstance(update.get(k), dict)), None)
    if msg is None:
        return None
    text = msg.get("text") or msg.get("caption") or ""
    if not isinstance(text, str) or not text.strip():
        return None
    chat = msg["chat"]
    message_id = int(msg["message_id"])
    username = chat.get("username") if isinstance(chat.get("username"), str) else ""
    sid = f"{username}/{message_id}" if username else f"{int(chat['id'])}_{message_id}"
    author = (msg.get("from") or {}).get("id") if isinstance(msg.get("from"), dict) else None
    post = {"source": "telegram", "id": sid, "text": text,
            "created_at": datetime.fromtimestamp(int(msg["date"]), tz=timezone.utc).isoformat(),
            "community_id": username or str(chat["id"]), "community_name": chat.get("title") or username or str(chat["id"])}
    if author is not None:
        post["author_id"] = str(author)
    if username:
        post["url"] = f"https://t.me/{username}/{message_id}"
    return post


# ---------------------------------------------------------------- plain
def from_plain(obj: dict | list) -> Posts[dict]:
    """Our own schema, one post or a list of posts, passed through unchanged (non-objects skipped)."""
    return Posts(obj if isinstance(obj, list) else [obj], lambda post: post if isinstance(post, dict) else None)


ADAPTERS: dict[str, Callable[[Any], Posts[dict]]] = {
    "vk": from_vk,
    "telegram": from_telegram_export,
    "plain": from_plain,
}


def detect(doc: Any) -> str:
    """The adapter for a loaded JSON document by its shape: "vk", "telegram" or "plain".

    VK: ``response``, ``items`` or a post object (``owner_id``); Telegram: ``messages``;
    anything else is taken as our own schema (bad input is then rejected downstream).
    """
    if isinstance(doc, dict):
        if "response" in doc or "items" in doc or "owner_id" in doc:
            return "vk"
        if "messages" in doc:
            return "telegram"
    return "plain"


# ---------------------------------------------------------------- files
def _lines(fh: BinaryIO) -> Iterator[bytes]:
    for line in fh:
        if line.strip():
            yield line.rstrip(b"\r\n")


def _as_is(line: bytes) -> bytes:
    return line


def _jsonl(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from _lines(fh)


def _csv_rows(path: Path) -> Iterator[dict]:
    """Rows with our column names; empty cells are left out, ``lat``/``lon`` become ``geo``."""
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            row = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
            if "lat" in row and "lon" in row:
                try:
                    row["geo"] = {"lat": float(row.pop("lat")), "lon": float(row.pop("lon"))}
                except ValueError:
                    pass  # left as they are: the post is then taken without a geotag
            yield row


def _dumps(post: dict) -> bytes:
    return json.dumps(post, ensure_ascii=False).encode()


def posts_from_file(path: str, fmt: str = "auto") -> Posts[bytes]:
    """Raw payloads (UTF-8 JSON bytes) of the posts in a file, or ``-`` for JSONL on stdin.

    - ``.json``: one document, converted by the adapter ``fmt`` ("vk", "telegram", "plain"),
      or by :func:`detect` when ``fmt`` is "auto"; raises ValueError if it is not valid JSON;
    - ``.csv``: rows with our column names (``lat``/``lon`` become ``geo``);
    - ``.jsonl`` and anything else: every non-blank line, passed on unchanged even if malformed.

    ``fmt`` only matters for ``.json``. The result's ``skipped`` counts the items of a document
    that gave no post (see :class:`Posts`).
    """
    if fmt != "auto" and fmt not in ADAPTERS:
        raise ValueError(f"unknown format {fmt!r}; use auto, {', '.join(ADAPTERS)}")
    if path == "-":
        return Posts(_lines(sys.stdin.buffer), _as_is)
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        try:
            doc = json.loads(p.read_bytes())
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{path} is not a valid JSON document: {exc}") from None
        return Posts(ADAPTERS[detect(doc) if fmt == "auto" else fmt](doc), _dumps)
    if suffix == ".csv":
        return Posts(_csv_rows(p), _dumps)
    return Posts(_jsonl(p), _as_is)
