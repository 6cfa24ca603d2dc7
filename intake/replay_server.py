"""A local replay of the platforms' APIs: serves posts as VK API responses and Telegram web-preview
pages, so that the demo, the tests and the benchmark drive the real collector over HTTP.

- VK (``/method/<name>``, GET or POST form, v5.199 shapes): ``utils.resolveScreenName``, ``utils.getServerTime``,
  ``wall.get`` (newest first, ``extended=1`` adds ``groups``), ``wall.getComments`` (oldest first,
  with ``thread.items``), ``newsfeed.search`` (``next_from`` paging); a wrong ``access_token`` is
  error 5.
- Telegram (``/s/<channel>``, ``?before=`` / ``?after=``): 20 messages a page in t.me's markup.
- Telegram Bot API (``/bot<token>/getUpdates``): updates below the ``offset`` asked are forgotten,
  as Telegram does.
- OK (``/fb.do``): ``mediatopic.getTopics`` of a group, the request signature checked (a wrong
  one is error 104, an expired token 102).
- Edits (``edited`` on the post) and deletions (the post is no longer listed) on demand.
- Faults on demand (:class:`Faults`, or ``POST /_control`` with JSON): VK errors 6/9/29/5 every N
  requests, HTTP 500, malformed JSON, an expired token.
- Replay in time: ``rate`` releases the posts at that many per second instead of all at once;
  a post becomes visible then (``visible_at``), which the benchmark uses for latency.

Run it: ``python -m intake.replay_server --sample posts.jsonl --port 8780`` (a ``tsur sample``
file: its VK posts become community walls, its Telegram posts public channels). Never part of a
production deployment.
"""
from __future__ import annotations

import argparse
import asyncio
import html
import json
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from aiohttp import web

PAGE = 20


@dataclass
class Faults:
    vk_error_every: int = 0          # every Nth VK request answers with vk_error_code
    vk_error_code: int = 6
    http_500_every: int = 0
    bad_json_every: int = 0
    token_expired: bool = False


@dataclass
class Item:
    id: int
    date: int
    text: str
    from_id: int
    visible_at: float
    comments: list = field(default_factory=list)        # VK: list[Item]
    replies: dict = field(default_factory=dict)         # VK comment id → list[Item]
    ads: bool = False
    edited: int = 0                                     # VK: when the text was last edited (Unix time)
    deleted: bool = False


@dataclass
class Feed:
    name: str
    title: str
    items: list = field(default_factory=list)           # in id order; visible_at non-decreasing
    next_id: int = 1

    def visible(self, now: float) -> list[Item]:
        return [i for i in self.items[:bisect_right([i.visible_at for i in self.items], now)] if not i.deleted]


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _author(raw) -> int:
    digits = "".join(ch for ch in str(raw or "") if ch.isdigit())
    return int(digits[:12]) if digits else 1


def telegram_channel(community_id: str) -> str:
    """The channel name the replay gives a sample community (t.me names start with a letter)."""
    return f"c{community_id}"


class Replay:
    OK_APP_KEY, OK_APP_SECRET = "fake-replay-app", "fake-replay-secret"

    def __init__(self, token: str = "fake-replay-token", faults: Faults | None = None):
        self.token = token
        self.ok_groups: dict[str, Feed] = {}
        self.bot_token = "123456:fake-bot"
        self.bot_updates: list[dict] = []            # Telegram getUpdates: forgotten below the offset asked
        self._next_update = 1000
        self.faults = faults or Faults()
        self.walls: dict[int, Feed] = {}          # owner id (negative: a community) → wall
        self.channels: dict[str, Feed] = {}
        self.screen_names: dict[str, int] = {}
        self.requests = 0
        self.vk_requests = 0
        self.lock = threading.Lock()

    # -- content ------------------------------------------------------------------------------
    def wall(self, owner_id: int, title: str = "", screen_name: str | None = None) -> Feed:
        with self.lock:
            feed = self.walls.setdefault(owner_id, Feed(str(owner_id), title or f"club{-owner_id}"))
            if screen_name:
                self.screen_names[screen_name] = owner_id
            return feed

    def ok_group(self, gid: str, title: str = "") -> Feed:
        with self.lock:
            return self.ok_groups.setdefault(gid, Feed(gid, title or gid))

    def bot_message(self, chat_id: int, text: str, date: int, username: str = "", kind: str = "message",
                    author: int | None = 31) -> dict:
        """An update of a chat the bot is in (``kind``: message, channel_post, edited_message …)."""
        with self.lock:
            self._next_update += 1
            chat = {"id": chat_id, "type": "channel" if "channel" in kind else "supergroup", "title": f"Чат {chat_id}"}
            if username:
                chat["username"] = username
            msg = {"message_id": self._next_update - 1000, "date": date, "chat": chat, "text": text}
            if author is not None and "channel" not in kind:
                msg["from"] = {"id": author, "is_bot": False, "first_name": "Житель"}
            update = {"update_id": self._next_update, kind: msg}
            self.bot_updates.append(update)
            return update

    def channel(self, name: str, title: str = "") -> Feed:
        with self.lock:
            return self.channels.setdefault(name, Feed(name, title or name))

    def add(self, feed: Feed, text: str, date: int, author: int = 1, visible_at: float = 0.0, ads: bool = False) -> Item:
        with self.lock:
            item = Item(feed.next_id, date, text, author, visible_at, ads=ads)
            feed.next_id += 1
            feed.items.append(item)
            return item

    def edit(self, item: Item, text: str, at: int) -> None:
        with self.lock:
            item.text, item.edited = text, at

    def delete(self, item: Item) -> None:
        with self.lock:
            item.deleted = True

    def comment(self, feed: Feed, post: Item, text: str, date: int, author: int = 2, reply_to: Item | None = None) -> Item:
        with self.lock:
            c = Item(feed.next_id, date, text, author, 0.0)
            feed.next_id += 1
            if reply_to is None:
                post.comments.append(c)
            else:
                post.replies.setdefault(reply_to.id, []).append(c)
            return c

    def load_sample(self, posts: list[dict], rate: float | None = None, start: float | None = None,
                    comments_every: int = 0, in_time: bool = False) -> dict:
        """VK, Telegram and OK posts of a plain sample as walls, channels and groups (others are left out);
        with ``comments_every`` N (and no ``rate``), every Nth VK post becomes a comment under the
        newest post of its wall; with ``in_time``, a post becomes visible when the clock reaches its
        ``created_at``. Returns {"vk": n, "comments": n, "telegram": n, "other": n,
        "places": {owner or channel: place hint}}."""
        start = time.monotonic() if start is None else start
        counts = {"vk": 0, "comments": 0, "telegram": 0, "ok": 0, "other": 0, "places": {}}
        offset = time.monotonic() - time.time()
        for k, p in enumerate(posts):
            at = _epoch(p["created_at"]) + offset if in_time else start + k / rate if rate else 0.0
            cid = str(p.get("community_id") or "0")
            if p.get("source") == "vk" and cid.isdigit():
                wall = self.wall(-int(cid), p.get("community_name", ""))
                if comments_every and not rate and not in_time and wall.items and k % comments_every == comments_every - 1:
                    self.comment(wall, wall.items[-1], p["text"], _epoch(p["created_at"]), _author(p.get("author_id")))
                    counts["comments"] += 1
                else:
                    self.add(wall, p["text"], _epoch(p["created_at"]), _author(p.get("author_id")), at)
                counts["vk"] += 1
                counts["places"].setdefault(str(-int(cid)), p.get("place_hint", ""))
            elif p.get("source") == "ok" and cid.isdigit():
                self.add(self.ok_group(cid, p.get("community_name", "")), p["text"], _epoch(p["created_at"]), _author(p.get("author_id")), at)
                counts["ok"] += 1
                counts["places"].setdefault(cid, p.get("place_hint", ""))
            elif p.get("source") == "telegram" and cid:
                self.add(self.channel(telegram_channel(cid), p.get("community_name", "")), p["text"], _epoch(p["created_at"]), 0, at)
                counts["telegram"] += 1
                counts["places"].setdefault(telegram_channel(cid), p.get("place_hint", ""))
            else:
                counts["other"] += 1
        return counts

    def source_post_ids(self) -> list[tuple[str, str]]:
        """(source, id at the source) of every post and comment the replay serves, as the
        collector names them (VK ``<owner>_<post>[_<comment>]``, Telegram ``<channel>/<id>``)."""
        out = []
        for owner, feed in self.walls.items():
            for it in feed.items:
                if not it.ads:
                    out.append(("vk", f"{owner}_{it.id}"))
                for c in it.comments + [r for rs in it.replies.values() for r in rs]:
                    out.append(("vk", f"{owner}_{it.id}_{c.id}"))
        out += [("telegram", f"{name}/{it.id}") for name, feed in self.channels.items() for it in feed.items]
        out += [("ok", f"{gid}_{it.id}") for gid, feed in self.ok_groups.items() for it in feed.items]
        return out

    def registry(self, region: str, places: dict[str, str], backfill_days: float, poll_seconds: float = 60.0):
        """A source registry of everything the replay serves; ``places`` maps a wall's owner id or
        a channel's name to its home place."""
        from intake.sources import Registry, Source

        sources = [Source("vk", "wall", str(owner), region, places.get(str(owner), ""), True) for owner in self.walls]
        sources += [Source("telegram", "channel", name, region, places.get(name, "")) for name in self.channels]
        sources += [Source("ok", "group", gid, region, places.get(gid, "")) for gid in self.ok_groups]
        return Registry(region, tuple(sources), backfill_days, poll_seconds)

    # -- VK -----------------------------------------------------------------------------------
    def _vk_fault(self) -> web.Response | None:
        f = self.faults
        n = self.vk_requests
        if f.http_500_every and n % f.http_500_every == 0:
            return web.Response(status=500, text="Internal Server Error")
        if f.bad_json_every and n % f.bad_json_every == 0:
            return web.Response(text='{"response": {"items": [', content_type="application/json")
        if f.vk_error_every and n % f.vk_error_every == 0:
            return _vk_error(f.vk_error_code, "replay: fault on demand")
        return None

    async def vk(self, request: web.Request) -> web.Response:
        params = await _params(request)
        with self.lock:
            self.requests += 1
            self.vk_requests += 1
        if self.faults.token_expired or params.get("access_token") != self.token:
            return _vk_error(5, "User authorization failed: invalid access_token (4).")
        fault = self._vk_fault()
        if fault is not None:
            return fault
        method = request.match_info["method"]
        handler = {"wall.get": self._wall_get, "wall.getComments": self._get_comments,
                   "newsfeed.search": self._search, "utils.resolveScreenName": self._resolve,
                   "utils.getServerTime": lambda p: int(time.time())}.get(method)
        if handler is None:
            return _vk_error(3, f"Unknown method passed: {method}")
        try:
            return web.json_response({"response": handler(params)}, dumps=_dumps)
        except _VKFail as exc:
            return _vk_error(exc.code, exc.msg)
        except (ValueError, KeyError):
            return _vk_error(100, "One of the parameters specified was missing or invalid")

    def _resolve(self, p: dict) -> dict | list:
        owner = self.screen_names.get(p.get("screen_name", ""))
        return [] if owner is None else {"type": "group" if owner < 0 else "user", "object_id": abs(owner)}

    def _feed(self, p: dict) -> tuple[int, Feed]:
        owner = int(p["owner_id"]) if "owner_id" in p else self.screen_names.get(p.get("domain", ""), 0)
        feed = self.walls.get(owner)
        if feed is None:
            raise _VKFail(100, "owner_id is undefined" if not owner else "One of the parameters specified was missing or invalid: owner not found")
        return owner, feed

    def _post_json(self, owner: int, it: Item) -> dict:
        d = {"id": it.id, "owner_id": owner, "from_id": owner, "date": it.date, "text": it.text, "post_type": "post",
             "comments": {"count": len(it.comments) + sum(len(v) for v in it.replies.values())}}
        if it.ads:
            d["marked_as_ads"] = 1
        if it.edited:
            d["edited"] = it.edited
        return d

    def _wall_get(self, p: dict) -> dict:
        owner, feed = self._feed(p)
        items = feed.visible(time.monotonic())
        offset, count = int(p.get("offset", 0)), min(int(p.get("count", 20)), 100)
        page = list(reversed(items))[offset:offset + count]
        out = {"count": len(items), "items": [self._post_json(owner, it) for it in page]}
        if p.get("extended") == "1":
            out["groups"] = [{"id": -owner, "name": feed.title, "screen_name": f"club{-owner}", "type": "page"}]
        return out

    def _get_comments(self, p: dict) -> dict:
        owner, feed = self._feed(p)
        post_id = int(p["post_id"])
        post = next((it for it in feed.items if it.id == post_id), None)
        if post is None:
            raise _VKFail(15, "Access denied: post was deleted")
        offset, count = int(p.get("offset", 0)), min(int(p.get("count", 10)), 100)
        limit = int(p.get("thread_items_count", 0))
        top = post.comments[offset:offset + count]

        def one(c: Item, parent: int | None = None) -> dict:
            d = {"id": c.id, "from_id": c.from_id, "date": c.date, "text": c.text, "post_id": post_id, "owner_id": owner}
            if parent is not None:
                d["reply_to_comment"] = parent
            return d

        items = []
        for c in top:
            d = one(c)
            replies = post.replies.get(c.id, [])
            d["thread"] = {"count": len(replies), "items": [one(r, c.id) for r in replies[:min(limit, 10)]]}
            items.append(d)
        return {"count": len(post.comments) + sum(len(v) for v in post.replies.values()),
                "current_level_count": len(post.comments), "items": items}

    def _search(self, p: dict) -> dict:
        q = p.get("q", "").lower()
        start = int(p.get("start_time", 0))
        offset = int(p.get("start_from") or 0)
        count = min(int(p.get("count", 30)), 200)
        now = time.monotonic()
        hits = sorted(((it.date, owner, it) for owner, feed in self.walls.items() for it in feed.visible(now)
                       if it.date >= start and q in it.text.lower()), key=lambda x: (-x[0], x[1], -x[2].id))
        page = hits[offset:offset + count]
        out = {"items": [self._post_json(owner, it) for _, owner, it in page], "count": len(page), "total_count": len(hits)}
        if offset + count < len(hits):
            out["next_from"] = str(offset + count)
        return out

    # -- OK -----------------------------------------------------------------------------------
    async def ok(self, request: web.Request) -> web.Response:
        from intake.ok_api import signature

        params = await _params(request)
        with self.lock:
            self.requests += 1
        token = params.pop("access_token", "")
        if self.faults.token_expired or token != self.token:
            return _ok_error(102, "PARAM_SESSION_EXPIRED : Session expired")
        if params.get("sig") != signature(params, token, self.OK_APP_SECRET) or params.get("application_key") != self.OK_APP_KEY:
            return _ok_error(104, "PARAM_SIGNATURE : Invalid signature")
        if params.get("method") != "mediatopic.getTopics":
            return _ok_error(3, f"METHOD : Method {params.get('method')} not found")
        feed = self.ok_groups.get(params.get("gid", ""))
        if feed is None:
            return _ok_error(300, "NOT_FOUND : group not found")
        items = list(reversed(feed.visible(time.monotonic())))
        offset, count = int(params.get("anchor") or 0), min(int(params.get("count", 20)), 100)
        page = items[offset:offset + count]
        topics = [{"id": str(it.id), "created_ms": it.date * 1000, "author_ref": f"user:{it.from_id}", "owner_ref": f"group:{feed.name}",
                   "media": [{"type": "text", "text": it.text}]} for it in page]
        return web.json_response({"media_topics": topics, "anchor": str(offset + count), "has_more": offset + count < len(items)},
                                 dumps=_dumps)

    # -- Telegram Bot API ----------------------------------------------------------------------
    async def bot(self, request: web.Request) -> web.Response:
        params = await _params(request)
        with self.lock:
            self.requests += 1
            if self.faults.token_expired or request.match_info["token"] != self.bot_token:
                return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
            offset = int(params.get("offset") or 0)
            if offset:
                self.bot_updates = [u for u in self.bot_updates if u["update_id"] >= offset]    # confirmed: forgotten
            limit = min(int(params.get("limit") or 100), 100)
            result = self.bot_updates[:limit]
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    # -- Telegram -----------------------------------------------------------------------------
    async def telegram(self, request: web.Request) -> web.Response:
        with self.lock:
            self.requests += 1
        name = request.match_info["channel"]
        feed = self.channels.get(name)
        if feed is None:
            raise web.HTTPFound(f"/{name}")          # what t.me does for a name without a public preview
        items = feed.visible(time.monotonic())
        q = request.query
        if q.get("before", "").isdigit():
            page = [m for m in items if m.id < int(q["before"])][-PAGE:]
        elif q.get("after", "").isdigit():
            page = [m for m in items if m.id > int(q["after"])][:PAGE]
        else:
            page = items[-PAGE:]
        return web.Response(text=_tg_html(name, feed.title, page), content_type="text/html")

    # -- control --------------------------------------------------------------------------------
    async def control(self, request: web.Request) -> web.Response:
        body = await request.json()
        for k, v in body.get("faults", {}).items():
            setattr(self.faults, k, v)
        return web.json_response({"requests": self.requests, "faults": self.faults.__dict__})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/method/{method}", self.vk)
        app.router.add_get("/s/{channel}", self.telegram)
        app.router.add_route("*", "/fb.do", self.ok)
        app.router.add_route("*", "/bot{token}/getUpdates", self.bot)
        app.router.add_post("/_control", self.control)
        return app


async def _params(request: web.Request) -> dict:
    """Query and (for POST) form parameters, as the platforms accept both."""
    params = dict(request.query)
    if request.method == "POST":
        params.update(await request.post())
    return params


class _VKFail(Exception):
    def __init__(self, code: int, msg: str):
        self.code, self.msg = code, msg


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _vk_error(code: int, msg: str) -> web.Response:
    return web.json_response({"error": {"error_code": code, "error_msg": msg, "request_params": []}}, dumps=_dumps)


def _ok_error(code: int, msg: str) -> web.Response:
    return web.json_response({"error_code": code, "error_msg": msg, "error_data": None}, dumps=_dumps)


def _tg_html(name: str, title: str, page: list[Item]) -> str:
    msgs = []
    for m in page:
        when = datetime.fromtimestamp(m.date, tz=timezone.utc).isoformat()
        text = html.escape(m.text).replace("\n", "<br/>")
        msgs.append(
            f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap '
            f'js-widget_message" data-post="{name}/{m.id}" data-view="x"><div class="tgme_widget_message_bubble">'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
            f'<div class="tgme_widget_message_footer"><a class="tgme_widget_message_date" href="https://t.me/{name}/{m.id}">'
            f'<time datetime="{when}" class="time">{when[11:16]}</time></a></div></div></div></div>')
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)} – Telegram</title></head><body>'
            f'<div class="tgme_channel_info_header_title"><span dir="auto">{html.escape(title)}</span></div>'
            f'<section class="tgme_channel_history js-message_history">{"".join(msgs)}</section></body></html>')


class ReplayThread:
    """The replay served from a background thread on 127.0.0.1 (demo and tests)."""

    def __init__(self, replay: Replay, port: int = 0):
        self.replay = replay
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tsur-replay", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ReplayThread":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the replay server did not start")
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self.replay.app(), access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m intake.replay_server",
                                 description="Serve a tsur sample as VK API responses and Telegram web-preview pages (local replay).")
    ap.add_argument("--sample", required=True, help="a JSONL file of plain posts (tsur sample)")
    ap.add_argument("--port", type=int, default=8780, help="port on 127.0.0.1 (default 8780)")
    ap.add_argument("--rate", type=float, default=None, help="release the posts at this many per second (default: all at once)")
    ap.add_argument("--in-time", action="store_true", help="release each post when the clock reaches its created_at")
    ap.add_argument("--token", default="fake-replay-token", help="the VK access token it accepts (default fake-replay-token)")
    args = ap.parse_args(argv)
    posts = [json.loads(line) for line in Path(args.sample).read_text(encoding="utf-8").splitlines() if line.strip()]
    replay = Replay(args.token)
    counts = replay.load_sample(posts, args.rate, in_time=args.in_time)
    print(f"replay: {counts['vk']} VK posts on {len(replay.walls)} walls, {counts['telegram']} Telegram posts in "
          f"{len(replay.channels)} channels, {counts['ok']} OK topics in {len(replay.ok_groups)} groups ({counts['other']} of "
          f"other sources left out) on http://127.0.0.1:{args.port}", flush=True)
    web.run_app(replay.app(), host="127.0.0.1", port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
