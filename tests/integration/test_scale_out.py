"""Two Faust workers share posts.raw (key = region, so a region's posts keep their order in one
partition): one is killed and restarted, the partitions move twice, and ClickHouse ends with
every post once and every incident counted exactly (state rebuilt from ClickHouse on rebalance)."""
import re
import time

import pytest

from tests.conftest import free_port
from tests.integration.stream_harness import Stack, account, assert_exact, valid_posts
from tests.reliability import record

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(settings, tsur_env):
    st = Stack(settings, {**tsur_env, "TSUR_SINK_BATCH_SIZE": "250", "TSUR_SINK_BATCH_SECONDS": "0.2", "TSUR_TOPIC_PARTITIONS": "4"})
    st.s = type(settings).from_env({**tsur_env, "TSUR_TOPIC_PARTITIONS": "4"})
    st.migrate()
    st.start_broker()
    yield st
    st.stop()


def test_two_workers_share_partitions_and_survive_a_rebalance(stack):
    n = 12_000
    a = stack.start_worker("worker-a", env={"TSUR_WORKER_WEB_PORT": str(free_port())})
    b = stack.start_worker("worker-b", env={"TSUR_WORKER_WEB_PORT": str(free_port())})
    # both in the group with partitions before the posts arrive: one worker alone is fast enough to
    # store a quarter of the stream before the other has joined
    deadline = time.monotonic() + 180
    while not all(re.search(r"posts\.raw partitions assigned: \[\d", open(w.log_path, errors="replace").read()) for w in (a, b)):
        assert a.alive() and b.alive() and time.monotonic() < deadline, a.tail(20) + b.tail(20)
        time.sleep(0.5)
    assert stack.publish(valid_posts(n, regions=8)) == n
    stack.wait_stored(n // 4, timeout=180, worker=a)
    b.kill()                                              # partitions move to a
    killed_at = time.monotonic()
    deadline = time.monotonic() + 120                     # b held partitions: the group gives them to a
    while "gained posts.raw partitions" not in open(a.log_path, errors="replace").read():
        assert a.alive() and time.monotonic() < deadline, "worker a never took over b's partitions:\n" + a.tail(30)
        time.sleep(0.5)
    b = stack.start_worker("worker-b2", env={"TSUR_WORKER_WEB_PORT": str(free_port())})   # and some move back
    stack.wait_stored(n, timeout=240, worker=a)
    took = time.monotonic() - killed_at
    time.sleep(2)
    acc = account(stack, n)
    logs = {w.name: open(w.log_path, errors="replace").read() for w in (a, b)}
    record("2 workers, one killed", produced=n, stored=acc["stored"], lost=acc["lost"], double=acc["double"], kills=1,
           note=f"{acc['incidents']} incidents exact; rest of the stream in {took:.0f} s after the kill")
    print(f"\nscale-out: {acc}")
    assert "gained posts.raw partitions" in logs["worker-a"], "worker a never took over b's partitions"
    assert b.alive() and a.alive()
    assert_exact(acc)
