"""The collector against the local replay of VK and Telegram (intake/replay_server.py) on the real
path: HTTP → collector → Tansu → Faust worker → chDB, counted in ClickHouse."""
from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from intake.collector import Collector, Endpoints, collect
from intake.raw_post import post_id_for
from intake.replay_server import Faults, Replay, ReplayThread
from intake.sources import dump_sources, parse_sources
from tests.conftest import free_port
from tests.integration.stream_harness import Stack, account
from tests.reliability import record, scale
from tsur import processes

pytestmark = pytest.mark.slow
REGION = "Краснодарский край"
TOKEN = "fake-replay-token"


@pytest.fixture
def stack(settings, tsur_env):
    st = Stack(settings, {**tsur_env, "TSUR_SINK_BATCH_SIZE": "500", "TSUR_SINK_BATCH_SECONDS": "0.2"})
    st.migrate()
    st.start_broker()
    yield st
    st.stop()


def registry(backfill_days: float = 3, poll: float = 0.2, comments: bool = True, searches=(), channels=("ustlabinsk24",),
             owners=(-1001,), recent: float = 300):
    return parse_sources({
        "region": REGION, "backfill_days": backfill_days, "poll_seconds": poll, "recent_poll_seconds": recent,
        "vk": {"communities": [{"owner": o, "place": "Усть-Лабинск", "comments": comments} for o in owners],
               "searches": [{"query": q} for q in searches]},
        "telegram": {"channels": [{"name": c, "place": "Усть-Лабинск"} for c in channels]}})


def endpoints(url: str, token: str = TOKEN, ok_secret: str = Replay.OK_APP_SECRET, bot_token: str = "123456:fake-bot") -> Endpoints:
    return Endpoints(vk_api_url=f"{url}/method", telegram_url=url, vk_token=token, vk_rps=200, telegram_rps=200,
                     ok_api_url=f"{url}/fb.do", ok_app_key=Replay.OK_APP_KEY, ok_app_secret=ok_secret, ok_token=token, ok_rps=200,
                     telegram_bot_token=bot_token, telegram_bot_url=url)


def stored_ids(stack) -> set[str]:
    return {r[0] for r in stack.query("SELECT DISTINCT source_post_id FROM posts_raw")}


def run_once(stack, reg, url, **kw) -> dict:
    return asyncio.run(collect(stack.s, reg, once=True, endpoints=endpoints(url, **kw), say=lambda m: None, confirm_wait=120))


def test_walls_comments_and_channels_are_stored_once_and_resume_without_gaps(stack):
    now = int(time.time())
    replay = Replay(TOKEN)
    wall = replay.wall(-1001, "Подслушано Усть-Лабинск")
    old = replay.add(wall, "Старый пост, вне окна", now - 10 * 86400)
    posts = [replay.add(wall, f"Нет воды на улице Ленина, дом {k} 💧 <b>срочно</b>", now - 3600 + k) for k in range(250)]
    replay.add(wall, "Реклама окон", now - 100, ads=True)
    c1 = replay.comment(wall, posts[3], "У нас тоже нет воды", now - 50)
    replay.comment(wall, posts[3], "И у нас, третий день", now - 40, reply_to=c1)
    channel = replay.channel("ustlabinsk24", "Усть-Лабинск 24")
    for k in range(45):
        replay.add(channel, f"Яма на дороге\nпо улице Красной, {k} & <тест>", now - 3000 + k)
    worker = stack.start_worker()
    with ReplayThread(replay) as server:
        totals = run_once(stack, registry(), server.url)
        assert totals["pending"] == 0 and not totals["stopped"], totals
        ids = stored_ids(stack)
        expected = {f"-1001_{p.id}" for p in posts} | {f"-1001_{posts[3].id}_{c1.id}", f"-1001_{posts[3].id}_{c1.id + 1}"} \
            | {f"ustlabinsk24/{k}" for k in range(1, 46)}
        assert ids == expected                                     # no ad, nothing older than the backfill window
        assert f"-1001_{old.id}" not in ids
        (text, place, region), = stack.query("SELECT text, place_hint, region_hint FROM posts_raw FINAL WHERE source_post_id = 'ustlabinsk24/2'")
        assert text == "Яма на дороге\nпо улице Красной, 1 & <тест>" and place == "Усть-Лабинск" and region == REGION

        # new posts, a new comment under an old post: a restarted collector reads only what is new
        fresh = [replay.add(wall, f"Снова нет света, дом {k}", now + k) for k in range(5)]
        c3 = replay.comment(wall, posts[10], "Свет дали", now + 10)
        replay.add(channel, "Новый пост канала", now + 20)
        requests_before = replay.vk_requests
        totals = run_once(stack, registry(), server.url)
        assert totals["published"] == 5 + 1 + 1, totals           # only the new ones are published
        ids2 = stored_ids(stack)
        assert ids2 - ids == {f"-1001_{p.id}" for p in fresh} | {f"-1001_{posts[10].id}_{c3.id}", "ustlabinsk24/46"}
        assert replay.vk_requests - requests_before < 20

        # an edited post is a new version of the same id; a deleted one is marked, not lost
        replay.edit(posts[5], "Нет воды на улице Ленина, дом 5 — уже четвёртый день", now + 30)
        replay.delete(posts[7])
        totals = run_once(stack, registry(), server.url)
        assert totals["published"] == 1, totals
    deadline = time.monotonic() + 30      # the old version already counts as stored: wait for the new one
    while not (text := stack.query("SELECT text FROM posts_raw FINAL WHERE source_post_id = {sid:String}",
                                   sid=f"-1001_{posts[5].id}")[0][0]).endswith("день") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert text.endswith("уже четвёртый день")
    gone = stack.query("SELECT source_post_id FROM post_deletions FINAL")
    assert gone == [(f"-1001_{posts[7].id}",)]
    assert stack.query("SELECT count() FROM posts_raw FINAL WHERE source_post_id = {sid:String}", sid=f"-1001_{posts[7].id}") == [(1,)]
    (double,), = stack.query("SELECT count() - uniqExact(post_id) FROM posts_raw FINAL")
    assert double == 0
    cursors = dict(stack.query("SELECT source_key, argMax(position, updated_at) FROM collector_cursors GROUP BY source_key"))
    assert cursors == {"vk:wall:-1001": fresh[-1].id, "telegram:channel:ustlabinsk24": 46}
    assert worker.alive()


def test_rate_limits_flood_and_server_errors_are_retried_and_an_expired_token_stops_vk_only(stack):
    now = int(time.time())
    replay = Replay(TOKEN, Faults(vk_error_every=3, vk_error_code=6, http_500_every=7, bad_json_every=11))
    wall = replay.wall(-1001, "Жалобы")
    posts = [replay.add(wall, f"Мусор не вывозят неделю, двор {k}", now - 600 + k) for k in range(120)]
    channel = replay.channel("ustlabinsk24")
    replay.add(channel, "Нет газа", now - 30)
    stack.start_worker()
    with ReplayThread(replay) as server:
        reg = registry(comments=False, poll=0.05)
        messages: list[str] = []

        async def run_until_stored(ep, until, timeout=90):
            stop = asyncio.Event()
            async with Collector(stack.s, reg, ep, say=messages.append, confirm_timeout=300) as col:
                task = asyncio.create_task(col.run(stop=stop))
                deadline = time.monotonic() + timeout
                while not until(col) and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                stop.set()
                await task
                return col

        col = asyncio.run(run_until_stored(endpoints(server.url), lambda c: c.confirmed >= 121))
        errors = col.totals()["errors"]
        assert col.confirmed == 121, col.totals()
        assert errors.get("vk_6", 0) >= 1 and errors.get("http_500", 0) >= 1 and errors.get("bad_json", 0) >= 1, errors
        assert {f"-1001_{p.id}" for p in posts} <= stored_ids(stack)

        replay.faults = Faults(token_expired=True)
        replay.add(channel, "Опять нет газа", now - 10)
        col = asyncio.run(run_until_stored(endpoints(server.url), lambda c: c.confirmed >= 1 and all(
            st.status == "stopped" for st in c.states if st.source.platform == "vk")))
    vk = [st for st in col.states if st.source.platform == "vk"]
    tg = [st for st in col.states if st.source.platform == "telegram"]
    assert all(st.status == "stopped" and "TSUR_VK_TOKEN" in st.problem for st in vk)
    assert all(st.status == "ok" for st in tg) and "ustlabinsk24/2" in stored_ids(stack)
    assert any("TSUR_VK_TOKEN" in m for m in messages)


def test_ok_groups_are_paged_signed_and_resumed_and_a_bad_key_stops_only_ok(stack):
    now = int(time.time())
    replay = Replay(TOKEN)
    group = replay.ok_group("54321987654321", "Жители Усть-Лабинска")
    topics = [replay.add(group, f"Не горят фонари на улице Мира, {k}", now - 7200 + 30 * k, author=500 + k) for k in range(120)]
    replay.add(group, "Очень старая тема", now - 30 * 86400)          # first in the feed, like a pinned topic
    stack.start_worker()
    reg = parse_sources({"region": REGION, "poll_seconds": 0.2, "ok": {"groups": [{"id": 54321987654321, "place": "Усть-Лабинск"}]},
                         "telegram": {"channels": [{"name": "ustlabinsk24"}]}})
    replay.channel("ustlabinsk24")
    with ReplayThread(replay) as server:
        totals = asyncio.run(collect(stack.s, reg, once=True, endpoints=endpoints(server.url), say=lambda m: None, confirm_wait=120))
        assert totals["pending"] == 0 and not totals["stopped"], totals
        assert stored_ids(stack) == {f"54321987654321_{t.id}" for t in topics}
        (url, place, author), = stack.query("SELECT url, place_hint, author_hash != '' FROM posts_raw FINAL WHERE source = 'ok' "
                                            "AND source_post_id = {sid:String}", sid=f"54321987654321_{topics[0].id}")
        assert url == f"https://ok.ru/group/54321987654321/topic/{topics[0].id}" and place == "Усть-Лабинск" and author
        fresh = replay.add(group, "Снова не горят фонари", now + 5)
        totals = asyncio.run(collect(stack.s, reg, once=True, endpoints=endpoints(server.url), say=lambda m: None, confirm_wait=120))
        assert totals["published"] == 1 and f"54321987654321_{fresh.id}" in stored_ids(stack)
        messages: list[str] = []
        totals = asyncio.run(collect(stack.s, reg, once=True, endpoints=endpoints(server.url, ok_secret="wrong-secret"),
                                     say=messages.append, confirm_wait=10))
    assert totals["stopped"] == ["ok:group:54321987654321"] and totals["errors"] == {"ok_104": 1}
    assert any("TSUR_OK_TOKEN" in m for m in messages)


def test_bot_updates_are_asked_from_the_confirmed_position_so_a_broker_loss_loses_nothing(stack):
    now = int(time.time())
    replay = Replay(TOKEN)
    for k in range(150):                                   # more than one getUpdates page
        replay.bot_message(-4242, f"В подъезде не работает лифт, дом {k}", now - 600 + k)
    replay.bot_message(-1001, "Пост канала о мусоре", now - 100, username="ustlabinsk24", kind="channel_post")
    replay.bot_message(-4242, "", now - 50)                 # a sticker: no text
    reg = parse_sources({"region": REGION, "poll_seconds": 0.1, "telegram": {"bot": {"places": {"-4242": "Усть-Лабинск"}}}})
    with ReplayThread(replay) as server:
        # the broker acknowledges, but no worker stores: nothing is confirmed, so Telegram keeps every update
        col_totals = asyncio.run(collect(stack.s, reg, once=True, endpoints=endpoints(server.url), say=lambda m: None, confirm_wait=2))
        assert col_totals["published"] == 100 and col_totals["pending"] == 100, col_totals
        assert len(replay.bot_updates) == 152
        stack.broker.stop()                                # … and the broker loses them
        stack.start_broker()
        stack.start_worker()
        messages: list[str] = []

        async def until_stored():
            stop = asyncio.Event()
            async with Collector(stack.s, reg, endpoints(server.url), say=messages.append, confirm_timeout=300) as col:
                task = asyncio.create_task(col.run(stop=stop))
                deadline = time.monotonic() + 120
                while col.confirmed < 151 and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                stop.set()
                return await task
        totals = asyncio.run(until_stored())
    ids = stored_ids(stack)
    assert len(ids) == 151 and "ustlabinsk24/151" in ids and "-4242_1" in ids, (len(ids), totals)
    (place,), = stack.query("SELECT place_hint FROM posts_raw FINAL WHERE source_post_id = '-4242_1'")
    assert place == "Усть-Лабинск"
    cursor = stack.query("SELECT argMax(position, updated_at) FROM collector_cursors WHERE source_key = 'telegram:bot:updates'")
    assert cursor == [(1152,)]


class StandInMessage:
    def __init__(self, id: int, text: str, date: datetime, chat_id: int, sender_id: int | None = 77):
        self.id, self.message, self.date, self.chat_id, self.sender_id = id, text, date, chat_id, sender_id


class StandInClient:
    """Telethon's TelegramClient at the boundary the collector uses (MTProto cannot be faked locally)."""

    def __init__(self, chats: dict, authorised: bool = True, flood_first: int = 0):
        self.chats, self.authorised, self.flood_left, self.calls = chats, authorised, flood_first, []

    async def connect(self):
        return None

    async def disconnect(self):
        return None

    async def is_user_authorized(self):
        return self.authorised

    async def iter_messages(self, entity, reverse=False, limit=None, min_id=None, offset_date=None):
        from telethon import errors

        self.calls.append((entity, min_id, offset_date))
        if self.flood_left:
            self.flood_left -= 1
            raise errors.FloodWaitError(request=None, capture=1)
        if entity not in self.chats:
            raise ValueError(f'Cannot find any entity corresponding to "{entity}"')
        for m in sorted(self.chats[entity], key=lambda m: m.id):
            if (min_id is None or m.id > min_id) and (offset_date is None or m.date >= offset_date):
                yield m


def test_account_chats_over_mtproto_at_the_library_boundary(stack):
    now = datetime.now(timezone.utc)
    chats = {"ustlabinsk_chat": [StandInMessage(k, f"Нет воды в доме {k}", now - timedelta(minutes=60 - k), -1001) for k in range(1, 41)],
             -100777: [StandInMessage(5, "Яма у школы", now - timedelta(minutes=5), -100777)]}
    chats["ustlabinsk_chat"].append(StandInMessage(41, "", now, -1001))                          # a photo without a caption
    chats["ustlabinsk_chat"].append(StandInMessage(0, "Очень старое", now - timedelta(days=30), -1001))
    client = StandInClient(chats, flood_first=1)
    reg = parse_sources({"region": REGION, "poll_seconds": 0.1, "telegram": {"account": {"chats": [
        {"chat": "ustlabinsk_chat", "place": "Усть-Лабинск"}, {"chat": -100777}, {"chat": "no_such_chat"}]}}})
    ep = Endpoints(account_client=lambda: client)
    stack.start_worker()
    messages: list[str] = []

    async def until_stored(target):
        stop = asyncio.Event()
        async with Collector(stack.s, reg, ep, say=messages.append) as col:
            for st in col.states:
                st.resume = True
            task = asyncio.create_task(col.run(stop=stop))
            deadline = time.monotonic() + 90
            while col.confirmed < target and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.5)
            stop.set()
            return await task

    totals = asyncio.run(until_stored(41))
    ids = stored_ids(stack)
    assert ids == {f"ustlabinsk_chat/{k}" for k in range(1, 41)} | {"-100777_5"}, totals
    assert totals["errors"].get("account_flood_wait") == 1 and totals["stopped"] == ["telegram:account:no_such_chat"]
    (url, place), = stack.query("SELECT url, place_hint FROM posts_raw FINAL WHERE source_post_id = 'ustlabinsk_chat/3'")
    assert url == "https://t.me/ustlabinsk_chat/3" and place == "Усть-Лабинск"
    chats["ustlabinsk_chat"].append(StandInMessage(42, "Снова нет воды", now, -1001))
    client.calls.clear()
    totals = asyncio.run(until_stored(1))
    assert "ustlabinsk_chat/42" in stored_ids(stack) and totals["published"] == 1
    assert ("ustlabinsk_chat", 41, None) in client.calls                  # resumed after the newest message read

    locked = StandInClient(chats, authorised=False)
    messages.clear()
    totals = asyncio.run(collect(stack.s, reg, once=True, endpoints=Endpoints(account_client=lambda: locked), say=messages.append,
                                 confirm_wait=5))
    assert len(totals["stopped"]) == 3 and any("tsur telegram-login" in m for m in messages)


def test_huge_posts_are_stored_or_dead_lettered_and_never_stall_the_source(stack):
    now = int(time.time())
    replay = Replay(TOKEN)
    wall = replay.wall(-3001, "Жалобы")
    big = replay.add(wall, "Нет воды. " + "Очень длинная жалоба про подъезд и двор. " * 2000, now - 300)       # ≈ 84,000 characters
    huge = replay.add(wall, "Нет света. " + "Слишком длинный текст " * 6000, now - 200)                        # > 100,000: rejected
    after = replay.add(wall, "Обычная жалоба на мусор", now - 100)
    stack.start_worker()
    reg = registry(owners=(-3001,), channels=(), comments=False)
    with ReplayThread(replay) as server:
        totals = asyncio.run(collect(stack.s, reg, once=True, endpoints=endpoints(server.url), say=lambda m: None, confirm_wait=60))
    assert totals["published"] == 3 and totals["pending"] == 0, totals            # the rejected one is not waited for
    assert stored_ids(stack) == {f"-3001_{big.id}", f"-3001_{after.id}"}
    dead = stack.read_topic(stack.s.topics["posts_dlq"], 1)
    assert any("longer than" in json.dumps(d, ensure_ascii=False) for d in dead), dead[:1]


def test_search_and_a_channel_without_public_preview(stack):
    now = int(time.time())
    replay = Replay(TOKEN)
    for owner in (-2001, -2002):
        wall = replay.wall(owner, f"Паблик {owner}")
        replay.add(wall, "Нет воды в посёлке Южном", now - 100)
        replay.add(wall, "Продам гараж", now - 90)
    stack.start_worker()
    reg = registry(owners=(), searches=("нет воды",), channels=("closed_chat",))
    with ReplayThread(replay) as server:
        messages: list[str] = []
        totals = asyncio.run(collect(stack.s, reg, once=True, endpoints=endpoints(server.url), say=messages.append, confirm_wait=60))
    assert stored_ids(stack) == {f"-2001_1", "-2002_1"}
    assert totals["errors"] == {"not_public": 1} and totals["stopped"] == ["telegram:channel:closed_chat"]
    assert any("closed_chat skipped" in m and "no public preview" in m for m in messages)


def replay_sample(n: int, walls: int = 40, channels: int = 10) -> list[dict]:
    """n plain posts spread over VK walls and Telegram channels within the last hour."""
    t0 = time.time() - 3600
    out = []
    for i in range(n):
        k = i % (walls + channels)
        source = "vk" if k < walls else "telegram"
        out.append({"source": source, "id": f"x{i}", "text": f"Третий день нет воды, дом {i}", "author_id": f"id{i % 97}",
                    "created_at": datetime.fromtimestamp(t0 + i * 0.1, tz=timezone.utc).isoformat(),
                    "community_id": str(1_000_000 + k), "community_name": f"Подслушано {k}", "place_hint": "Усть-Лабинск"})
    return out


def test_collector_killed_five_times_and_the_broker_restarted_loses_and_doubles_nothing(stack, tmp_path):
    n, kills = int(scale("collector_posts", 20_000)), 5
    rate = float(scale("collector_rate", 500))
    rng = random.Random(20261204)
    posts = replay_sample(n)
    sample = tmp_path / "replay.jsonl"
    sample.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    mirror = Replay()                                  # the same content the server process serves
    served = mirror.load_sample(posts)
    expected = {post_id_for(src, sid) for src, sid in mirror.source_post_ids()}
    assert len(expected) == n
    sources = tmp_path / "sources.yaml"
    sources.write_text(dump_sources(mirror.registry(REGION, served["places"], backfill_days=1, poll_seconds=0.2)), encoding="utf-8")

    port = free_port()
    env = {**stack.env, "TSUR_VK_TOKEN": TOKEN, "TSUR_VK_API_URL": f"http://127.0.0.1:{port}/method",
           "TSUR_TELEGRAM_WEB_URL": f"http://127.0.0.1:{port}", "TSUR_VK_RPS": "1000", "TSUR_TELEGRAM_RPS": "1000",
           "TSUR_COLLECT_CONFIRM_TIMEOUT": "15"}
    server = processes.start("replay", [sys.executable, "-m", "intake.replay_server", "--sample", str(sample), "--port", str(port),
                                        "--rate", str(rate)], stack.s.logs_dir, env=env)
    while not processes.port_open("127.0.0.1", port):
        assert server.alive(), server.tail()
        time.sleep(0.1)
    t_start = time.monotonic()
    worker = stack.start_worker("worker-1")
    collect_argv = [sys.executable, "-m", "tsur.cli", "collect", "--sources", str(sources)]
    collector = processes.start("collector-1", collect_argv, stack.s.logs_dir, env=env)
    replay_s = n / rate
    moments = sorted(rng.uniform(0.1, 0.55) * replay_s for _ in range(kills))
    broker_at = 0.7 * replay_s                         # after the last kill: only the collector's re-read can recover
    events = sorted([(t, "kill") for t in moments] + [(broker_at, "broker")])
    killed = restarted = 0
    try:
        for k, (at, what) in enumerate(events):
            while time.monotonic() - t_start < at:
                assert collector.alive(), collector.tail(30)
                time.sleep(0.05)
            if what == "kill":
                collector.kill()
                killed += 1
                collector = processes.start(f"collector-{k + 2}", collect_argv, stack.s.logs_dir, env=env)
            else:                                      # the memory broker loses what it held: the worker is down
                worker.kill()                          # for 3 s first, so that unconsumed posts are in the broker
                time.sleep(3)
                (before,), = stack.query("SELECT uniqExact(post_id) FROM posts_raw")
                stack.broker.stop()
                time.sleep(1)
                stack.start_broker()
                worker = stack.start_worker("worker-2")
                restarted += 1
        got = stack.wait_stored(n, timeout=240, worker=worker)
        assert collector.alive(), collector.tail(30)
    finally:
        collector.stop()
        server.stop()
    time.sleep(1)
    stored = {r[0] for r in stack.query("SELECT DISTINCT post_id FROM posts_raw")}
    acc = account(stack, n)
    rewinds = sum(open(p, errors="replace").read().count("reading again from the confirmed position")
                  for p in stack.s.logs_dir.glob("collector-*.log"))
    record("collector SIGKILL + broker restart", produced=n, stored=acc["stored"], lost=len(expected - stored),
           double=acc["double"], kills=killed, note=f"broker restarted {restarted}x; {rewinds} sources re-read after the loss")
    print(f"\nreliability: collector {acc}, rewinds {rewinds}, stored when the broker stopped {before}")
    assert (killed, restarted) == (kills, 1)
    assert stored == expected, f"{len(expected - stored)} lost, {len(stored - expected)} unexpected"
    assert got[1] == n and acc["double"] == 0 and acc["final"] == n
