"""The collector against the local replay of VK and Telegram (intake/replay_server.py) on the real
path: HTTP → collector → Tansu → Faust worker → chDB, counted in ClickHouse."""
from __future__ import annotations

import asyncio
import time

import pytest

from intake.collector import Collector, Endpoints, collect
from intake.raw_post import post_id_for
from intake.replay_server import Faults, Replay, ReplayThread
from intake.sources import parse_sources
from tests.integration.stream_harness import Stack

pytestmark = pytest.mark.slow
REGION = "Краснодарский край"
TOKEN = "replay-token"


@pytest.fixture
def stack(settings, tsur_env):
    st = Stack(settings, {**tsur_env, "TSUR_SINK_BATCH_SIZE": "500", "TSUR_SINK_BATCH_SECONDS": "0.2"})
    st.migrate()
    st.start_broker()
    yield st
    st.stop()


def registry(backfill_days: float = 3, poll: float = 0.2, comments: bool = True, searches=(), channels=("ustlabinsk24",),
             owners=(-1001,)):
    return parse_sources({
        "region": REGION, "backfill_days": backfill_days, "poll_seconds": poll,
        "vk": {"communities": [{"owner": o, "place": "Усть-Лабинск", "comments": comments} for o in owners],
               "searches": [{"query": q} for q in searches]},
        "telegram": {"channels": [{"name": c, "place": "Усть-Лабинск"} for c in channels]}})


def endpoints(url: str, token: str = TOKEN) -> Endpoints:
    return Endpoints(vk_api_url=f"{url}/method", telegram_url=url, vk_token=token, vk_rps=200, telegram_rps=200)


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
