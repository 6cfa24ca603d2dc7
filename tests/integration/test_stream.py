"""Real broker (Tansu) + real Faust worker + chDB: posts flow through, bad input goes to the
dead-letter topic, and a worker killed with SIGKILL mid-stream loses and duplicates nothing."""
import json

import pytest

from tests.integration.stream_harness import Stack, valid_posts

pytestmark = pytest.mark.slow

BAD = [b"{not json", b"\xff\xfe", json.dumps({"source": "vk", "id": "x", "text": 5, "created_at": "2026-11-20T10:00:00Z"}).encode(),
       json.dumps({"source": "vk", "id": "y", "text": "ok", "created_at": "1970-01-01T00:00:00Z"}).encode(), b"[]"]


@pytest.fixture
def stack(settings, tsur_env):
    st = Stack(settings, {**tsur_env, "TSUR_SINK_BATCH_SIZE": "250", "TSUR_SINK_BATCH_SECONDS": "0.2"})
    st.migrate()
    st.start_broker()
    yield st
    st.stop()


def test_posts_flow_through_and_bad_input_is_dead_lettered(stack):
    good = valid_posts(500)
    payloads = good[:250] + BAD + good[250:]
    assert stack.publish(payloads) == len(payloads)
    worker = stack.start_worker()
    final, distinct = stack.wait_stored(500, worker=worker)
    assert (final, distinct) == (500, 500)
    dead = stack.read_topic(stack.s.topics["posts_dlq"], min_count=len(BAD))
    reasons = {d["reason"] for d in dead}
    assert len({(d["partition"], d["offset"]) for d in dead}) == len(BAD)
    assert any("JSON" in r for r in reasons) and any("UTF-8" in r for r in reasons) and any("outside" in r for r in reasons)
    assert worker.alive()
    # stored rows are pseudonymised and keyed by region
    (authors,), = stack.query("SELECT countIf(author_hash LIKE 'id%') FROM posts_raw")
    assert authors == 0


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(stack):
    n = 6000
    assert stack.publish(valid_posts(n)) == n
    kills = 0
    worker = stack.start_worker("worker-1")
    for round_ in range(2):
        # wait until the worker is part-way through, then kill it without warning
        target = (round_ + 1) * n // 4
        stack.wait_stored(target, timeout=120, worker=worker)
        worker.kill()
        kills += 1
        worker = stack.start_worker(f"worker-{round_ + 2}")
    final, distinct = stack.wait_stored(n, timeout=180, worker=worker)
    print(f"\nreliability: kills={kills} produced={n} stored_final={final} distinct={distinct}")
    assert (final, distinct) == (n, n)
    (raw_rows,), = stack.query("SELECT count() FROM posts_raw")
    print(f"reliability: physical rows before dedup={raw_rows} (redelivered after kills: {raw_rows - n})")
