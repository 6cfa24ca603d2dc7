"""The source registry: which communities, searches and channels the collectors watch (YAML).

One file per region (``TSUR_SOURCES``, default ``<data dir>/sources.yaml``; docs/intake.md)::

    region: Краснодарский край          # region hint of every post (required)
    backfill_days: 3                    # how far back the first start reads (default 3)
    poll_seconds: 60                    # pause between two polls of one source (default 60)
    recent_poll_seconds: 300          # how often the comment threads of recent posts are read (default 300)
    vk:
      communities:                      # wall.get (+ wall.getComments of recent posts)
        - owner: -12345678              # a community: minus its id; or `screen_name: podslushano_ul`
          place: Усть-Лабинск           # its home settlement: the place hint of its posts
          comments: true                # read the comment threads too (default true)
      searches:                         # newsfeed.search
        - query: "нет воды"
          place: Краснодар              # optional
    telegram:
      channels:                         # public channels via their web preview t.me/s/<name>
        - name: ustlabinsk24
          place: Усть-Лабинск
      account:                          # chats an account is a member of, over MTProto (tsur telegram-login)
        chats:
          - chat: ustlabinsk_chat       # a public name, or the numeric id (-100…)
            place: Усть-Лабинск
      bot:                              # chats the centre's bot is in (getUpdates; TSUR_TELEGRAM_BOT_TOKEN)
        places:                         # optional: a place hint per chat (its id or public name)
          -1001234567890: Усть-Лабинск
    ok:
      groups:                           # Одноклассники groups (mediatopic.getTopics)
        - id: 54321987654321
          place: Усть-Лабинск

:func:`load_sources` validates the whole file and raises :class:`SourcesError` with one line per
problem (the key path and the fix). Credentials are never here: they come from the environment
(docs/intake.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

PLATFORMS = ("vk", "telegram", "ok")
_SCREEN_NAME = re.compile(r"^[A-Za-z0-9_.]{2,64}$")
_TG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_OK_GID = re.compile(r"^[0-9]{1,20}$")


class SourcesError(Exception):
    """The registry is malformed: the message lists every problem, one per line."""


@dataclass(frozen=True)
class Source:
    """One thing a collector polls.

    ``kind``: "wall" (a VK community's wall), "search" (a VK newsfeed.search query), "channel"
    (a Telegram channel's web preview), "account" (a chat read over MTProto with an account),
    "bot" (the chats of the centre's Telegram bot, getUpdates)
    or "group" (an OK group). ``handle``: the owner id or screen name, the query, the channel name,
    "updates" for the bot, or the group id. ``key`` names the source in positions, logs and metrics."""
    platform: str
    kind: str
    handle: str
    region_hint: str
    place_hint: str = ""
    comments: bool = False
    chat_places: tuple = ()             # Telegram bot: ((chat id or public name, place hint), …)

    @property
    def needs(self) -> str:
        """Which credentials it needs: "vk", "ok", "bot" (a Telegram bot's token), "account" (a Telegram
        account over MTProto) or "" (none)."""
        return self.kind if self.kind in ("bot", "account") else self.platform if self.platform in ("vk", "ok") else ""

    def place_of(self, chat: str) -> str:
        return next((place for name, place in self.chat_places if name.lower() == chat.lower()), self.place_hint)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.kind}:{self.handle}"


@dataclass(frozen=True)
class Registry:
    region: str
    sources: tuple[Source, ...]
    backfill_days: float = 3.0
    poll_seconds: float = 60.0
    recent_poll_seconds: float = 300.0

    def for_platform(self, platform: str | None) -> list[Source]:
        return [s for s in self.sources if platform in (None, s.platform)]


def _number(doc: dict, name: str, default: float, lo: float, hi: float, errors: list[str]) -> float:
    value = doc.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        errors.append(f"{name}: {value!r} must be a number in {lo:g}..{hi:g}")
        return default
    return float(value)


def _list(doc: dict, path: str, errors: list[str]) -> list:
    node = doc
    for part in path.split("."):
        if node is None:
            return []
        if not isinstance(node, dict):
            errors.append(f"{path}: expected a mapping above '{part}'")
            return []
        node = node.get(part)
    if node is None:
        return []
    if not isinstance(node, list):
        errors.append(f"{path}: must be a list of entries")
        return []
    return node


def _place(entry: dict, where: str, errors: list[str]) -> str:
    place = entry.get("place", "")
    if not isinstance(place, str):
        errors.append(f"{where}.place: must be a settlement name (text)")
        return ""
    return place.strip()


def parse_sources(doc) -> Registry:
    """A validated :class:`Registry` from a loaded YAML document."""
    if not isinstance(doc, dict):
        raise SourcesError("the sources file must be a mapping with 'region' and platform sections (vk, telegram, ok)")
    errors: list[str] = []
    unknown = sorted(set(doc) - {"region", "backfill_days", "poll_seconds", "recent_poll_seconds", *PLATFORMS})
    if unknown:
        errors.append(f"unknown keys {', '.join(unknown)}; expected region, backfill_days, poll_seconds, recent_poll_seconds, {', '.join(PLATFORMS)}")
    region = doc.get("region")
    if not isinstance(region, str) or not region.strip():
        errors.append("region: required, the region's name as in the gazetteer (e.g. 'Краснодарский край')")
        region = ""
    region = region.strip()
    backfill = _number(doc, "backfill_days", 3.0, 0, 365, errors)
    poll = _number(doc, "poll_seconds", 60.0, 0.05, 86400, errors)
    comments_poll = _number(doc, "recent_poll_seconds", 300.0, 0.05, 86400, errors)
    out: list[Source] = []
    for i, e in enumerate(_list(doc, "vk.communities", errors)):
        where = f"vk.communities[{i}]"
        if not isinstance(e, dict):
            errors.append(f"{where}: must be a mapping with 'owner' or 'screen_name'")
            continue
        owner, screen = e.get("owner"), e.get("screen_name")
        if owner is not None and screen is not None:
            errors.append(f"{where}: give 'owner' or 'screen_name', not both")
            continue
        if owner is not None:
            if isinstance(owner, bool) or not isinstance(owner, int) or owner == 0:
                errors.append(f"{where}.owner: {owner!r} must be a non-zero integer (a community: minus its id)")
                continue
            handle = str(owner)
        elif isinstance(screen, str) and _SCREEN_NAME.match(screen):
            handle = screen
        else:
            errors.append(f"{where}: needs 'owner' (an integer id) or 'screen_name' (letters, digits, '_' and '.')")
            continue
        comments = e.get("comments", True)
        if not isinstance(comments, bool):
            errors.append(f"{where}.comments: must be true or false")
            comments = True
        out.append(Source("vk", "wall", handle, region, _place(e, where, errors), comments))
    for i, e in enumerate(_list(doc, "vk.searches", errors)):
        where = f"vk.searches[{i}]"
        query = e.get("query") if isinstance(e, dict) else None
        if not isinstance(query, str) or not query.strip():
            errors.append(f"{where}: needs 'query' (the search text)")
            continue
        out.append(Source("vk", "search", query.strip(), region, _place(e, where, errors)))
    for i, e in enumerate(_list(doc, "telegram.channels", errors)):
        where = f"telegram.channels[{i}]"
        name = e.get("name") if isinstance(e, dict) else None
        name = name.lstrip("@").strip() if isinstance(name, str) else name
        if not isinstance(name, str) or not _TG_NAME.match(name):
            errors.append(f"{where}: needs 'name', the channel's public name (as in t.me/<name>)")
            continue
        out.append(Source("telegram", "channel", name, region, _place(e, where, errors)))
    for i, e in enumerate(_list(doc, "telegram.account.chats", errors)):
        where = f"telegram.account.chats[{i}]"
        chat = e.get("chat") if isinstance(e, dict) else None
        chat = str(chat) if isinstance(chat, int) and not isinstance(chat, bool) else chat
        chat = chat.lstrip("@").strip() if isinstance(chat, str) else chat
        if not isinstance(chat, str) or not (_TG_NAME.match(chat) or re.fullmatch(r"-?[0-9]{1,20}", chat)):
            errors.append(f"{where}: needs 'chat', the chat's public name or its numeric id (-100… for channels and supergroups)")
            continue
        out.append(Source("telegram", "account", chat, region, _place(e, where, errors)))
    bot = doc.get("telegram", {}).get("bot") if isinstance(doc.get("telegram"), dict) else None
    if bot is not None:
        places = bot.get("places", {}) if isinstance(bot, dict) else None
        if bot is not True and not (isinstance(bot, dict) and isinstance(places, dict)
                                    and all(isinstance(v, str) for v in places.values())):
            errors.append("telegram.bot: true, or a mapping with 'places': {chat id or public name: settlement}")
        else:
            pairs = tuple((str(k).lstrip("@"), v.strip()) for k, v in (places or {}).items()) if bot is not True else ()
            out.append(Source("telegram", "bot", "updates", region, chat_places=pairs))
    for i, e in enumerate(_list(doc, "ok.groups", errors)):
        where = f"ok.groups[{i}]"
        gid = e.get("id") if isinstance(e, dict) else None
        gid = str(gid) if isinstance(gid, int) and not isinstance(gid, bool) else gid
        if not isinstance(gid, str) or not _OK_GID.match(gid.strip()):
            errors.append(f"{where}: needs 'id', the group's number (as in ok.ru/group/<id>)")
            continue
        out.append(Source("ok", "group", gid.strip(), region, _place(e, where, errors)))
    keys = [s.key for s in out]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        errors.append(f"listed twice: {', '.join(dupes)}")
    if not out and not errors:
        errors.append("no sources: add vk.communities, vk.searches, telegram.channels, telegram.account, telegram.bot or ok.groups")
    if errors:
        raise SourcesError("\n".join(errors))
    return Registry(region, tuple(out), backfill, poll, comments_poll)


def load_sources(path: Path) -> Registry:
    """Read and validate a registry file; SourcesError names the file and every problem."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(f"{path}: no sources file; write one (docs/intake.md) or set TSUR_SOURCES") from None
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{path}: cannot be read as YAML: {str(exc).splitlines()[0][:200]}") from None
    try:
        return parse_sources(doc)
    except SourcesError as exc:
        raise SourcesError("\n".join(f"{path}: {line}" for line in str(exc).splitlines())) from None


def dump_sources(registry: Registry) -> str:
    """The registry as YAML (what the demo writes for its replay of the sample)."""
    doc: dict = {"region": registry.region, "backfill_days": registry.backfill_days, "poll_seconds": registry.poll_seconds,
                 "recent_poll_seconds": registry.recent_poll_seconds}
    for s in registry.sources:
        if s.platform == "vk" and s.kind == "wall":
            entry = {"owner": int(s.handle)} if s.handle.lstrip("-").isdigit() else {"screen_name": s.handle}
            doc.setdefault("vk", {}).setdefault("communities", []).append({**entry, "place": s.place_hint, "comments": s.comments})
        elif s.platform == "vk":
            doc.setdefault("vk", {}).setdefault("searches", []).append({"query": s.handle, "place": s.place_hint})
        elif s.kind == "account":
            doc.setdefault("telegram", {}).setdefault("account", {}).setdefault("chats", []).append(
                {"chat": int(s.handle) if s.handle.lstrip("-").isdigit() else s.handle, "place": s.place_hint})
        elif s.kind == "bot":
            doc.setdefault("telegram", {})["bot"] = {"places": dict(s.chat_places)} if s.chat_places else True
        elif s.platform == "ok":
            doc.setdefault("ok", {}).setdefault("groups", []).append({"id": int(s.handle), "place": s.place_hint})
        else:
            doc.setdefault("telegram", {}).setdefault("channels", []).append({"name": s.handle, "place": s.place_hint})
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
