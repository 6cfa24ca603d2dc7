"""The collector (``tsur collect``): polls the registry's VK walls and searches and Telegram
channels, publishes new posts and comments to ``posts.raw`` and resumes from the warehouse.

Nothing lost, nothing doubled (docs/intake.md):

- ids are deterministic (VK ``<owner>_<post>[_<comment>]``, Telegram ``<channel>/<message>``), so
  reading a post twice only re-publishes it and the worker stores it once;
- a source's position advances in memory after the broker acknowledged the posts, and is written
  to ``collector_cursors`` only after the worker **stored** every post published up to it;
- a (re)started collector resumes from the newer of that cursor and the newest stored post of the
  source; the first start reads back ``backfill_days``;
- published posts that are not stored within ``confirm_timeout`` (the broker lost them: memory
  storage) make the source read again from its confirmed position.

Posts the worker will reject (``intake.raw_post``) are published all the same — they end in the
dead-letter topic with their reason — but not waited for.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import httpx

from intake import ok_api, telegram_account, telegram_bot, telegram_web
from intake.adapters import ok_topic, telegram_update, vk_comment, vk_post
from intake.producer import new_producer, send_all
from intake.raw_post import Rejection, parse_raw_post, post_id_for
from intake.sources import Registry, Source
from intake.http_json import Pacer, TransportError
from intake.vk_api import DEFAULT_API_URL, VKClient, VKError, classify

MAX_PAGES = 200                  # per poll of one source: a bound on one catch-up (20,000 VK posts)
RETRY_BACKOFF = (1, 2, 5, 10, 30, 60)
CONCURRENT_POLLS = 8             # sources read at the same time (each platform's pacer still bounds requests/s)
CONFIRM_EVERY = 1.0              # seconds between two checks of what the worker stored
PAUSE_SECONDS = 3600
_CHECK_KEY = b"collector-validation-only"


@dataclass
class Pending:
    at: float                   # when the broker acknowledged them (monotonic)
    ids: set                    # post ids not yet seen stored
    position: int               # the source's position after these posts
    comments: dict = field(default_factory=dict)     # VK post id → the lowest comment id published here


@dataclass
class SourceState:
    source: Source
    position: int | None = None         # newest read and acknowledged by the broker
    confirmed: int | None = None        # newest with everything up to it stored (the cursor)
    owner_id: int | None = None
    comments_seen: dict = field(default_factory=dict)     # VK post id → newest comment id read
    comment_counts: dict = field(default_factory=dict)    # VK post id → its comment count when read
    comment_floor: dict = field(default_factory=dict)     # VK post id → lowest comment id read this poll
    comment_next: dict = field(default_factory=dict)      # this poll's reads, applied once the broker has them:
    count_next: dict = field(default_factory=dict)        # post id → newest comment id read / its comment count
    pending: deque = field(default_factory=deque)
    resume: bool = True
    polling: bool = False
    recent_checked: float = -1e18       # when the recent window was last read again (monotonic) …
    recent_read_at: float = 0.0         # … and when this poll read it (applied once the broker has the posts)
    known: dict = field(default_factory=dict)             # VK post id → date, of posts read or stored (deletions)
    known_next: dict = field(default_factory=dict)
    edited_seen: dict = field(default_factory=dict)       # VK post id → its `edited` time when last published
    edited_next: dict = field(default_factory=dict)
    gone_next: list = field(default_factory=list)         # post ids no longer listed (deleted), this poll
    status: str = "starting"
    problem: str = ""
    next_poll: float = 0.0
    failures: int = 0
    last_poll: str = ""
    newest_at: str = ""                 # created_at of the newest post read
    polls: int = 0
    published: int = 0
    rewinds: int = 0
    deleted: int = 0
    errors: Counter = field(default_factory=Counter)

    def view(self) -> dict:
        lag = ""
        if self.newest_at:
            lag = round((datetime.now(timezone.utc) - datetime.fromisoformat(self.newest_at)).total_seconds(), 1)
        return {"key": self.source.key, "status": self.status, "problem": self.problem, "last_poll": self.last_poll,
                "newest_post_at": self.newest_at, "lag_s": lag, "position": self.position, "confirmed": self.confirmed,
                "pending": sum(len(p.ids) for p in self.pending), "polls": self.polls, "published": self.published,
                "rewinds": self.rewinds, "deleted": self.deleted, "errors": dict(self.errors)}


@dataclass
class Endpoints:
    """Where the platforms are: the real ones by default, a local replay in the demo and tests."""
    vk_api_url: str = DEFAULT_API_URL
    telegram_url: str = telegram_web.DEFAULT_WEB_URL
    vk_token: str = ""
    vk_rps: float = 3.0
    telegram_rps: float = 1.0
    ok_api_url: str = ok_api.DEFAULT_API_URL
    ok_app_key: str = ""
    ok_app_secret: str = ""
    ok_token: str = ""
    ok_rps: float = 3.0
    telegram_bot_token: str = ""
    telegram_bot_url: str = telegram_bot.DEFAULT_API_URL
    telegram_api_id: int = 0
    telegram_api_hash: str = ""
    telegram_session: Path | None = None
    account_client: Callable | None = None      # makes the MTProto client (a stand-in in tests)


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).isoformat()


class Collector:
    def __init__(self, settings, registry: Registry, endpoints: Endpoints, platform: str | None = None,
                 confirm_timeout: float = 300.0, comments_days: float | None = None, say=print, state_path: Path | None = None):
        from warehouse.lease import WarehouseLease

        self.s = settings
        self.registry = registry
        self.ep = endpoints
        self.say = say
        self.confirm_timeout = confirm_timeout
        self.comments_days = registry.backfill_days if comments_days is None else comments_days
        self.states = [SourceState(src) for src in registry.for_platform(platform)]
        self.topic = settings.topics["posts_raw"]
        # linger 0: the embedded store is closed right after each check, so the worker's inserts
        # never wait for the collector
        self.lease = WarehouseLease(settings.clickhouse_dsn, settings.warehouse_lock_timeout, linger=0.0)
        self.state_path = state_path
        self.producer = None
        self.http: httpx.AsyncClient | None = None
        self.vk: VKClient | None = None
        self.tg_pacer = Pacer(endpoints.telegram_rps)
        make = endpoints.account_client or (lambda: telegram_account.telethon_client(
            endpoints.telegram_session, endpoints.telegram_api_id, endpoints.telegram_api_hash))
        self.account = telegram_account.AccountReader(make)
        self._slots = asyncio.Semaphore(CONCURRENT_POLLS)
        self.published = 0
        self.confirmed = 0
        self._cursor_rows: list[list] = []           # confirmed positions not yet written
        self._deletion_rows: list[list] = []         # posts no longer listed at their source, not yet written

    # -- life cycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> "Collector":
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0), follow_redirects=False,
                                      headers={"User-Agent": "tsur-collector/0.1 (+docs/intake.md)"})
        self.vk = VKClient(self.http, self.ep.vk_token, self.ep.vk_api_url, Pacer(self.ep.vk_rps))
        self.ok = ok_api.OKClient(self.http, self.ep.ok_app_key, self.ep.ok_app_secret, self.ep.ok_token, self.ep.ok_api_url,
                                  Pacer(self.ep.ok_rps))
        self.producer = new_producer(self.s.bootstrap_servers)
        try:
            await self.producer.start()
        except BaseException:
            await self.producer.stop()
            await self.http.aclose()
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            await self.account.close()
            await self.producer.stop()
        finally:
            await self.http.aclose()
            self.lease.close()
            self.write_state()

    async def run(self, once: bool = False, stop: asyncio.Event | None = None, confirm_wait: float = 600.0) -> dict:
        """Poll until ``stop`` is set; with ``once``, read every source up to now, wait until the
        worker stored what was published (at most ``confirm_wait`` s) and return the totals."""
        stop = stop or asyncio.Event()
        if once:
            await asyncio.gather(*(self._bounded_poll(st) for st in self.states))
            deadline = time.monotonic() + confirm_wait
            while any(st.pending for st in self.states) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                await self.confirm(rewind=False)
            await self.flush_cursors()
            self.write_state()
            return self.totals()
        tasks = [asyncio.create_task(self._source_loop(st, stop)) for st in self.states]
        tasks.append(asyncio.create_task(self._confirm_loop(stop)))
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.flush_cursors()
        return self.totals()

    async def flush_cursors(self) -> None:
        """Write the confirmed positions still held (a collector that stops keeps what it confirmed)."""
        rows, self._cursor_rows = self._cursor_rows, []
        gone, self._deletion_rows = self._deletion_rows, []

        def write(client):
            if rows:
                client.insert("collector_cursors", rows, column_names=["source_key", "position", "updated_at"])
            if gone:
                client.insert("post_deletions", gone, column_names=["post_id", "source", "source_post_id", "noticed_at"])
        if rows or gone:
            try:
                await asyncio.to_thread(self.lease.run, write)
            except Exception as exc:
                self.say(f"collector: cursors not written ({type(exc).__name__}); the next start reads a little more again")

    async def _bounded_poll(self, st: SourceState) -> None:
        async with self._slots:
            await self.poll(st)

    async def _source_loop(self, st: SourceState, stop: asyncio.Event) -> None:
        """Poll one source whenever it is due, until it is stopped or skipped."""
        while not stop.is_set() and st.status not in ("stopped", "skipped"):
            wait = st.next_poll - time.monotonic()
            if wait > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=min(wait, 1.0))
                except asyncio.TimeoutError:
                    pass
                continue
            await self._bounded_poll(st)

    async def _confirm_loop(self, stop: asyncio.Event) -> None:
        last_state = 0.0
        while not stop.is_set():
            try:
                await self.confirm()
            except Exception as exc:              # the warehouse is away: the cursors wait, polling goes on
                self.say(f"collector: cannot check the warehouse ({type(exc).__name__}: {str(exc)[:120]}); retrying")
            if time.monotonic() - last_state >= 2.0:
                self.write_state()
                last_state = time.monotonic()
            try:
                await asyncio.wait_for(stop.wait(), timeout=CONFIRM_EVERY)
            except asyncio.TimeoutError:
                pass

    def totals(self) -> dict:
        return {"sources": len(self.states), "published": self.published, "confirmed": self.confirmed,
                "pending": sum(len(p.ids) for st in self.states for p in st.pending),
                "rewinds": sum(st.rewinds for st in self.states),
                "errors": dict(sum((st.errors for st in self.states), Counter())),
                "stopped": [st.source.key for st in self.states if st.status in ("stopped", "skipped")]}

    # -- positions ------------------------------------------------------------------------------
    def _resume(self, states: list[SourceState]) -> None:
        """Positions from the warehouse: the newer of the confirmed cursor and the newest stored post."""
        from warehouse.queries import named_query

        window = max(self.registry.backfill_days, self.comments_days)
        since = datetime.now(timezone.utc) - timedelta(days=window)

        def read(client):
            rows = client.query(named_query("collector_positions"), parameters={"since": since}).result_rows
            cursors = dict(client.query(named_query("collector_cursors")).result_rows)
            return rows, cursors

        rows, cursors = self.lease.run(read)
        newest: dict[tuple[str, str], int] = {}
        comments: dict[str, dict[int, int]] = {}
        dates: dict[str, dict[int, int]] = {}
        for source, owner, post, post_stored, last_comment, post_date in rows:
            if post_stored:
                newest[(source, owner)] = max(newest.get((source, owner), 0), int(post))
                if source == "vk" and post_date is not None:
                    dates.setdefault(owner, {})[int(post)] = int(post_date)
            if last_comment:
                comments.setdefault(owner, {})[int(post)] = int(last_comment)
        for st in states:
            src = st.source
            stored = None
            if src.kind == "wall" and st.owner_id is not None:
                stored = newest.get(("vk", str(st.owner_id)))
                st.comments_seen = dict(comments.get(str(st.owner_id), {}))
                st.comment_counts = {}
                st.known = dict(dates.get(str(st.owner_id), {}))
            elif src.kind == "channel" or (src.kind == "account" and not src.handle.lstrip("-").isdigit()):
                stored = newest.get(("telegram", src.handle))
            # the cursor, when there is one: a newer stored post does not prove that every post
            # before it was stored (the broker may have lost some of them)
            cursor = cursors.get(src.key)
            st.position = st.confirmed = cursor if cursor is not None else stored
            st.pending.clear()
            st.resume = False

    async def confirm(self, rewind: bool = True) -> None:
        """Drop pending posts the worker has stored; write the cursors that moved; read a source
        again whose posts were not stored within ``confirm_timeout``."""
        from warehouse.queries import named_query

        ids = [i for st in self.states for p in st.pending for i in p.ids]
        cursors, self._cursor_rows = self._cursor_rows, []
        deletions, self._deletion_rows = self._deletion_rows, []
        stored: set[str] = set()

        def check(client):                  # one session: last round's cursors and deletions written, then the check
            if cursors:
                client.insert("collector_cursors", cursors, column_names=["source_key", "position", "updated_at"])
            if deletions:
                client.insert("post_deletions", deletions, column_names=["post_id", "source", "source_post_id", "noticed_at"])
            out = set()
            for k in range(0, len(ids), 20000):
                out.update(r[0] for r in client.query(named_query("collector_stored"),
                                                      parameters={"ids": ids[k:k + 20000]}).result_rows)
            return out
        if ids or cursors or deletions:
            try:
                stored = await asyncio.to_thread(self.lease.run, check)
            except BaseException:
                self._cursor_rows = cursors + self._cursor_rows
                self._deletion_rows = deletions + self._deletion_rows
                raise
        self.confirmed += len(stored)
        cursor_rows = []
        now = time.monotonic()
        for st in self.states:
            moved = False
            for p in st.pending:
                p.ids -= stored
            while st.pending and not st.pending[0].ids:
                st.confirmed = st.pending.popleft().position
                moved = True
            if moved and st.confirmed is not None:
                cursor_rows.append([st.source.key, int(st.confirmed), datetime.now(timezone.utc)])
            if rewind and st.pending and now - st.pending[0].at > self.confirm_timeout and not st.polling:
                lost = sum(len(p.ids) for p in st.pending)
                self.say(f"collector: {st.source.key}: {lost} published posts not stored after {self.confirm_timeout:.0f} s "
                         "(the broker lost them?): reading again from the confirmed position")
                for p in st.pending:
                    for post, lowest in p.comments.items():
                        st.comments_seen[post] = min(st.comments_seen.get(post, 0), lowest - 1)
                        st.comment_counts.pop(post, None)
                st.pending.clear()
                st.position, st.next_poll, st.recent_checked = st.confirmed, 0.0, -1e18
                st.rewinds += 1
        self._cursor_rows.extend(cursor_rows)      # written with the next check (or when the collector stops)

    # -- polling --------------------------------------------------------------------------------
    async def poll(self, st: SourceState) -> None:
        st.polling = True
        try:
            await self._poll(st)
        finally:
            st.polling = False

    async def _poll(self, st: SourceState) -> None:
        st.polls += 1
        st.last_poll = datetime.now(timezone.utc).isoformat()
        try:
            if st.source.platform == "vk" and st.owner_id is None:
                h = st.source.handle
                st.owner_id = int(h) if h.lstrip("-").isdigit() and st.source.kind == "wall" else (
                    await self.vk.resolve_owner(h) if st.source.kind == "wall" else 0)
            if st.resume:
                await asyncio.to_thread(self._resume, [st])
            if st.source.kind == "wall":
                posts, position = await self._poll_wall(st)
            elif st.source.kind == "search":
                posts, position = await self._poll_search(st)
            elif st.source.kind == "group":
                posts, position = await self._poll_group(st)
            elif st.source.kind == "bot":
                posts, position = await self._poll_bot(st)
            elif st.source.kind == "account":
                posts, position = await self._poll_account(st)
            else:
                posts, position = await self._poll_channel(st)
            await self._publish(st, posts, position)
        except (VKError, ok_api.OKError, telegram_bot.BotError, telegram_account.AccountError, TransportError,
                telegram_web.PageError) as exc:
            self._failed(st, exc)
            return
        except Exception as exc:                 # the broker (aiokafka) or the warehouse: retry later
            self._failed(st, TransportError(f"{type(exc).__name__}: {str(exc)[:160]}", "broker_or_warehouse"))
            return
        st.failures, st.status, st.problem = 0, "ok", ""
        st.next_poll = time.monotonic() + self.registry.poll_seconds

    def _failed(self, st: SourceState, exc: Exception) -> None:
        st.comment_floor.clear()            # what this poll read is read again next time
        st.comment_next.clear()
        st.count_next.clear()
        st.recent_read_at = 0.0
        st.known_next, st.edited_next, st.gone_next = {}, {}, []
        code = f"vk_{exc.code}" if isinstance(exc, VKError) else f"ok_{exc.code}" if isinstance(exc, ok_api.OKError) \
            else f"bot_{exc.code}" if isinstance(exc, telegram_bot.BotError) \
            else f"account_{exc.code}" if isinstance(exc, telegram_account.AccountError) else getattr(exc, "code", "error")
        st.errors[code] += 1
        if isinstance(exc, telegram_web.PageError):
            action = "skip" if exc.code == "not_public" else "retry"
        elif isinstance(exc, ok_api.OKError):
            action = ok_api.classify(exc)
        elif isinstance(exc, telegram_bot.BotError):
            action = telegram_bot.classify(exc)
        elif isinstance(exc, telegram_account.AccountError):
            action = {"not_authorised": "stop", "no_chat": "skip"}.get(exc.code, "retry")
        else:
            action = classify(exc)
        st.problem = str(exc)[:200]
        if action == "stop" and st.source.kind == "bot":
            st.status = "stopped"
            st.problem = (f"{exc}; " + ("a webhook is set for the bot: use the webhook route (docs/intake.md) or call deleteWebhook"
                                        if getattr(exc, "code", 0) == 409 else "set TSUR_TELEGRAM_BOT_TOKEN to the bot's valid token")
                          + " and restart the collector")
            self.say(f"collector: {st.source.key} stopped: {st.problem}")
        elif action == "stop" and st.source.kind == "account":
            for other in self.states:
                if other.source.kind == "account":
                    other.status, other.problem = "stopped", str(exc)
            self.say(f"collector: Telegram account sources stopped: {exc}")
        elif action == "stop":
            platform = st.source.platform
            fix = ("set TSUR_VK_TOKEN to a valid token" if platform == "vk" else
                   "set TSUR_OK_TOKEN (and TSUR_OK_APP_KEY, TSUR_OK_APP_SECRET) to valid keys")
            problem = f"{platform.upper()} rejected the credentials ({exc}); {fix} and restart the collector (tsur doctor checks it)"
            for other in self.states:
                if other.source.platform == platform:
                    other.status, other.problem = "stopped", problem
            self.say(f"collector: {platform} sources stopped: {problem}")
        elif action == "skip":
            st.status = "skipped"
            self.say(f"collector: {st.source.key} skipped: {exc}")
        elif action == "pause":
            st.status = "paused"
            st.next_poll = time.monotonic() + PAUSE_SECONDS
            self.say(f"collector: {st.source.key} paused for an hour: {exc}")
        else:
            st.status = "retrying"
            wait = RETRY_BACKOFF[min(st.failures, len(RETRY_BACKOFF) - 1)]
            st.next_poll = time.monotonic() + max(wait, getattr(exc, "retry_after", None) or 0)
            st.failures += 1

    def _hints(self, post: dict, st: SourceState) -> dict:
        post["region_hint"] = st.source.region_hint
        if st.source.place_hint:
            post["place_hint"] = st.source.place_hint
        return post

    async def _poll_wall(self, st: SourceState) -> tuple[list[dict], int | None]:
        """New posts since the position; every ``recent_poll_seconds`` also the recent window
        (``comments_days``) again: new comments, edited posts (a new version of the same id) and
        posts no longer listed (deleted: marked in ``post_deletions``)."""
        now = time.time()
        cutoff = now - self.registry.backfill_days * 86400
        recent_due = time.monotonic() - st.recent_checked >= self.registry.recent_poll_seconds
        recent_cutoff = now - self.comments_days * 86400 if recent_due else None
        if recent_due:
            st.recent_read_at = time.monotonic()
        new, recent, groups, whole_window = [], [], {}, False
        for page_no in range(MAX_PAGES):
            items, gs = await self.vk.wall_page(st.owner_id, page_no * 100)
            groups.update({g["id"]: g for g in gs if isinstance(g.get("id"), int)})
            for it in items:
                try:
                    pid, date = int(it["id"]), int(it["date"])
                except (KeyError, TypeError, ValueError):
                    continue
                if (pid > st.position) if st.position is not None else date >= cutoff:
                    new.append(it)
                if recent_cutoff is not None and date >= recent_cutoff:
                    recent.append((pid, date, it))
            ordinary = [it for it in items if not it.get("is_pinned")]
            if len(items) < 100 or not ordinary:
                whole_window = True
                break
            oldest_id = min(int(it.get("id", 0)) for it in ordinary)
            oldest_date = min(int(it.get("date", 0)) for it in ordinary)
            reached = oldest_id <= st.position if st.position is not None else oldest_date < cutoff
            if reached and (recent_cutoff is None or oldest_date < recent_cutoff):
                whole_window = recent_cutoff is not None
                break
        new.sort(key=lambda it: int(it["id"]))
        posts = [self._hints(p, st) for p in (vk_post(it, groups) for it in new) if p is not None]
        position = max([int(it["id"]) for it in new] + ([st.position] if st.position is not None else []), default=None)
        if new:
            st.newest_at = _utc(max(int(it["date"]) for it in new))
        st.known_next.update({int(it["id"]): int(it["date"]) for it in new})
        new_ids = {int(it["id"]) for it in new}
        for pid, date, it in recent:
            edited = it.get("edited")
            if isinstance(edited, int) and pid not in new_ids and st.edited_seen.get(pid) != edited:
                post = vk_post(it, groups)             # an edited post: a new version of the same id
                if post is not None:
                    posts.append(self._hints(post, st))
                st.edited_next[pid] = edited
            count = (it.get("comments") or {}).get("count", 0) if isinstance(it.get("comments"), dict) else 0
            if not st.source.comments or not isinstance(count, int) or count <= 0 or st.comment_counts.get(pid) == count:
                continue
            floor = st.comments_seen.get(pid, 0) + 1
            got = await self._comments(st, pid)
            if got:
                st.comment_floor[pid] = floor
            posts.extend(self._hints(c, st) for c in got)
            st.count_next[pid] = count
        if whole_window and recent_cutoff is not None:
            listed = {pid for pid, _, _ in recent}
            margin = recent_cutoff + 600              # a post about to leave the window is not "deleted"
            gone = sorted(pid for pid, date in st.known.items() if date >= margin and pid not in listed and pid not in new_ids)
            st.gone_next = gone
        return posts, position

    async def _comments(self, st: SourceState, post_id: int) -> list[dict]:
        seen = st.comments_seen.get(post_id, 0)
        out, newest = [], seen
        for page_no in range(MAX_PAGES):
            items, total = await self.vk.comments_page(st.owner_id, post_id, page_no * 100)
            for c in items:
                thread = c.get("thread") if isinstance(c.get("thread"), dict) else {}
                for one in [c, *[t for t in thread.get("items") or [] if isinstance(t, dict)]]:
                    try:
                        cid = int(one["id"])
                    except (KeyError, TypeError, ValueError):
                        continue
                    if cid > seen:
                        newest = max(newest, cid)
                        post = vk_comment(one, st.owner_id, post_id)
                        if post is not None:
                            out.append(post)
            if len(items) < 100 or (page_no + 1) * 100 >= total:
                break
        st.comment_next[post_id] = newest
        return out

    async def _poll_search(self, st: SourceState) -> tuple[list[dict], int | None]:
        start = st.position if st.position is not None else int(time.time() - self.registry.backfill_days * 86400)
        items, groups, start_from = [], {}, None
        for _ in range(MAX_PAGES):
            page, gs, start_from = await self.vk.search_page(st.source.handle, start, start_from)
            items.extend(page)
            groups.update({g["id"]: g for g in gs if isinstance(g.get("id"), int)})
            if not page or not start_from:
                break
        dates = [int(it["date"]) for it in items if isinstance(it.get("date"), int)]
        posts = [self._hints(p, st) for p in (vk_post(it, groups) for it in items) if p is not None]
        posts.sort(key=lambda p: p["created_at"])
        if dates:
            st.newest_at = _utc(max(dates))
        return posts, max(dates + [start])

    async def _poll_group(self, st: SourceState) -> tuple[list[dict], int | None]:
        """New topics of an OK group; the position is the newest topic's time (ms)."""
        gid = st.source.handle
        since = st.position if st.position is not None else int((time.time() - self.registry.backfill_days * 86400) * 1000)
        topics, anchor = [], None
        for _ in range(MAX_PAGES):
            page, anchor = await self.ok.topics_page(gid, anchor)
            created = [int(t["created_ms"]) for t in page if isinstance(t.get("created_ms"), int)]
            topics += [t for t in page if isinstance(t.get("created_ms"), int) and t["created_ms"] > since]
            if not anchor or not created or created[-1] <= since:     # the page's last (oldest) topic: a pinned
                break                                                  # old topic at the top does not stop it
        topics.sort(key=lambda t: t["created_ms"])
        posts = [self._hints(p, st) for p in (ok_topic(t, gid) for t in topics) if p is not None]
        if topics:
            st.newest_at = _utc(topics[-1]["created_ms"] // 1000)
        return posts, max([t["created_ms"] for t in topics] + [since]) if topics or st.position is not None else None

    async def _poll_bot(self, st: SourceState) -> tuple[list[dict], int | None]:
        """Updates of the bot's chats: always asked from the confirmed update + 1 (Telegram forgets
        what is below the offset), the ones already published skipped; at most 100 a poll."""
        offset = st.confirmed + 1 if st.confirmed is not None else None
        updates = await telegram_bot.get_updates(self.http, self.ep.telegram_bot_url, self.ep.telegram_bot_token, offset)
        fresh = [u for u in updates if st.position is None or u["update_id"] > st.position]
        posts = []
        for u in sorted(fresh, key=lambda u: u["update_id"]):
            try:
                post = telegram_update(u)
            except (KeyError, TypeError, ValueError, OverflowError, OSError):
                post = None                          # a malformed update: skipped, counted
                st.errors["bad_update"] += 1
            if post is not None:
                post["region_hint"] = st.source.region_hint
                place = st.source.place_of(post["community_id"])
                if place:
                    post["place_hint"] = place
                posts.append(post)
        if posts:
            st.newest_at = max(p["created_at"] for p in posts)
        position = max([u["update_id"] for u in fresh] + ([st.position] if st.position is not None else []), default=None)
        return posts, position

    async def _poll_account(self, st: SourceState) -> tuple[list[dict], int | None]:
        """A chat over MTProto: messages after the position (the first start: ``backfill_days``)."""
        chat = st.source.handle
        since = datetime.now(timezone.utc) - timedelta(days=self.registry.backfill_days)
        msgs = await self.account.messages(chat, st.position, since)
        posts = []
        for m in msgs:
            post = telegram_account.account_message(m, chat)
            if post is not None:
                posts.append(self._hints(post, st))
        if posts:
            st.newest_at = max(p["created_at"] for p in posts)
        position = max([int(m.id) for m in msgs] + ([st.position] if st.position is not None else []), default=None)
        return posts, position

    async def _poll_channel(self, st: SourceState) -> tuple[list[dict], int | None]:
        name, base = st.source.handle, self.ep.telegram_url
        msgs: dict[int, telegram_web.Message] = {}
        title = ""
        if st.position is None:
            cutoff = (datetime.now(timezone.utc) - timedelta(days=self.registry.backfill_days)).isoformat()
            before = None
            for _ in range(MAX_PAGES):
                await self.tg_pacer.wait()
                page = await telegram_web.fetch_page(self.http, base, name, before=before)
                title = title or page.title
                older = [m for m in page.messages if before is None or m.id < before]
                msgs.update({m.id: m for m in older if m.created_at >= cutoff})
                if not older or older[0].created_at < cutoff:
                    break
                before = older[0].id
        else:
            after = st.position
            for _ in range(MAX_PAGES):
                await self.tg_pacer.wait()
                page = await telegram_web.fetch_page(self.http, base, name, after=after)
                title = title or page.title
                newer = [m for m in page.messages if m.id > after]
                msgs.update({m.id: m for m in newer})
                if not newer:
                    break
                after = max(m.id for m in newer)
        ordered = [msgs[k] for k in sorted(msgs)]
        if ordered:
            st.newest_at = max(m.created_at for m in ordered)
        posts = [self._hints(telegram_web.channel_post(m, name, title), st) for m in ordered]
        position = max([m.id for m in ordered] + ([st.position] if st.position is not None else []), default=None)
        return posts, position

    async def _publish(self, st: SourceState, posts: list[dict], position: int | None) -> None:
        payloads, expected = [], set()
        for post in posts:
            payload = json.dumps(post, ensure_ascii=False).encode()
            payloads.append(payload)
            parsed = parse_raw_post(payload, _CHECK_KEY)
            if not isinstance(parsed, Rejection):          # a rejected post goes to the dead-letter topic
                expected.add(parsed.post_id)
        if payloads:
            await send_all(self.producer, self.topic, payloads)
        self.published += len(payloads)
        st.published += len(payloads)
        if position is not None and (position != st.position or expected):
            st.pending.append(Pending(time.monotonic(), expected, position, dict(st.comment_floor)))
        st.comment_floor.clear()
        st.comments_seen.update(st.comment_next)
        st.comment_counts.update(st.count_next)
        if st.recent_read_at:
            st.recent_checked, st.recent_read_at = st.recent_read_at, 0.0
        st.known.update(st.known_next)
        st.edited_seen.update(st.edited_next)
        if st.gone_next and st.owner_id is not None:
            noticed = datetime.now(timezone.utc)
            for pid in st.gone_next:
                sid = f"{st.owner_id}_{pid}"
                self._deletion_rows.append([post_id_for("vk", sid), "vk", sid, noticed])
                st.known.pop(pid, None)
            st.deleted += len(st.gone_next)
        st.known_next, st.edited_next, st.gone_next = {}, {}, []
        st.comment_next.clear()
        st.count_next.clear()
        st.position = position

    # -- state and metrics ----------------------------------------------------------------------
    def write_state(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"updated_at": datetime.now(timezone.utc).isoformat(), "totals": self.totals(),
               "sources": [st.view() for st in self.states]}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
        tmp.replace(self.state_path)

    def metrics_text(self) -> str:
        """Prometheus text: requests and errors by code, posts published, lag per source."""
        lines = ["# HELP tsur_collector_published_total Posts and comments published to posts.raw.",
                 "# TYPE tsur_collector_published_total counter",
                 f"tsur_collector_published_total {self.published}",
                 "# HELP tsur_collector_confirmed_total Published posts seen stored by the worker.",
                 "# TYPE tsur_collector_confirmed_total counter",
                 f"tsur_collector_confirmed_total {self.confirmed}",
                 "# HELP tsur_collector_polls_total Polls per source.", "# TYPE tsur_collector_polls_total counter"]
        lines += [f'tsur_collector_polls_total{{source="{_label(st.source.key)}"}} {st.polls}' for st in self.states]
        lines += ["# HELP tsur_collector_errors_total Errors per source and code.", "# TYPE tsur_collector_errors_total counter"]
        lines += [f'tsur_collector_errors_total{{source="{_label(st.source.key)}",code="{code}"}} {n}'
                  for st in self.states for code, n in sorted(st.errors.items())]
        lines += ["# HELP tsur_collector_lag_seconds Age of the newest post read per source.", "# TYPE tsur_collector_lag_seconds gauge"]
        lines += [f'tsur_collector_lag_seconds{{source="{_label(st.source.key)}"}} {st.view()["lag_s"]}'
                  for st in self.states if st.newest_at]
        lines += ["# HELP tsur_collector_source_up 1 while a source is polled, 0 when stopped or skipped.",
                  "# TYPE tsur_collector_source_up gauge"]
        lines += [f'tsur_collector_source_up{{source="{_label(st.source.key)}"}} {int(st.status not in ("stopped", "skipped"))}'
                  for st in self.states]
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def missing_credentials(ep: Endpoints) -> dict[str, str]:
    """What is missing per kind of source ("vk", "ok", "bot"), as one line each."""
    out = {}
    if not ep.vk_token:
        out["vk"] = "TSUR_VK_TOKEN is not set: VK sources need an access token"
    if not (ep.ok_app_key and ep.ok_app_secret and ep.ok_token):
        out["ok"] = "TSUR_OK_APP_KEY, TSUR_OK_APP_SECRET and TSUR_OK_TOKEN must all be set for OK groups"
    if not ep.telegram_bot_token:
        out["bot"] = "TSUR_TELEGRAM_BOT_TOKEN is not set: telegram.bot needs the bot's token"
    if not ep.account_client and not (ep.telegram_api_id and ep.telegram_api_hash):
        out["account"] = "TSUR_TELEGRAM_API_ID and TSUR_TELEGRAM_API_HASH are not set: telegram.account needs them"
    return out


def state_file(settings, platform: str | None) -> Path:
    """Where a collector writes its view for `tsur status`: <data dir>/run/collector[-platform].json."""
    return settings.data_dir / "run" / (f"collector-{platform}.json" if platform else "collector.json")


def endpoints_of(settings) -> Endpoints:
    return Endpoints(settings.vk_api_url, settings.telegram_web_url, settings.vk_token, settings.vk_rps, settings.telegram_rps,
                     settings.ok_api_url, settings.ok_app_key, settings.ok_app_secret, settings.ok_token, settings.ok_rps,
                     settings.telegram_bot_token, settings.telegram_bot_api_url, settings.telegram_api_id,
                     settings.telegram_api_hash, telegram_account.session_path(settings.data_dir))


async def _serve_metrics(collector: Collector, port: int):
    from aiohttp import web

    async def metrics(_request):
        return web.Response(text=collector.metrics_text(), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def collect(settings, registry: Registry, platform: str | None = None, once: bool = False,
                  metrics_port: int | None = None, stop: asyncio.Event | None = None, say=print,
                  endpoints: Endpoints | None = None, confirm_wait: float = 600.0) -> dict:
    """Run a collector until ``stop`` (or, with ``once``, until every source was read and stored)."""
    ep = endpoints or endpoints_of(settings)
    missing = missing_credentials(ep)
    usable = [src for src in registry.for_platform(platform) if src.needs not in missing]
    left = sorted({missing[src.needs] for src in registry.for_platform(platform) if src.needs in missing})
    if not usable:
        raise ValueError("; ".join(left) + " (docs/intake.md, Credentials)")
    for line in left:
        say(f"collector: warning: {line}: those sources are left out")
    registry = dataclasses.replace(registry, sources=tuple(usable))
    async with Collector(settings, registry, ep, platform, settings.collect_confirm_timeout, say=say,
                         state_path=state_file(settings, platform)) as collector:
        runner = await _serve_metrics(collector, metrics_port) if metrics_port else None
        try:
            known = [st for st in collector.states if st.source.platform == "telegram" or st.source.kind == "search"
                     or st.source.handle.lstrip("-").isdigit()]
            for st in known:
                if st.source.kind == "wall":
                    st.owner_id = int(st.source.handle)
            if known:
                await asyncio.to_thread(collector._resume, known)
            say(f"collector: {len(collector.states)} sources ({', '.join(sorted({s.source.platform for s in collector.states}))}), "
                f"poll every {registry.poll_seconds:g} s, backfill {registry.backfill_days:g} days")
            return await collector.run(once=once, stop=stop, confirm_wait=confirm_wait)
        finally:
            if runner is not None:
                await runner.cleanup()
