"""Fault tests on the real path (Tansu broker, Faust worker processes, chDB), each with an exact
account of produced vs stored posts and incidents:

- the worker SIGKILLed at random moments while posts stream through;
- the broker stopped and restarted (Tansu keeps messages in memory: what a broker loss means and
  how a source re-delivers, docs/broker.md);
- the warehouse unavailable (the store locked by another process): the worker backs off with
  bounded memory and everything lands afterwards.

CI runs a shorter variant; ``bench/reliability.py`` runs the long one (100,000 posts, 60 s
outages) through FAULT_* (tests/reliability.py)."""
import random
import threading
import time

import pytest
from filelock import FileLock

from tests.integration.stream_harness import Stack, account, assert_exact, valid_posts
from tests.reliability import record, scale
from warehouse.session import lock_path

pytestmark = pytest.mark.slow
SEED = 20261123


@pytest.fixture
def stack(settings, tsur_env):
    st = Stack(settings, {**tsur_env, "TSUR_SINK_BATCH_SIZE": "250", "TSUR_SINK_BATCH_SECONDS": "0.2",
                          "TSUR_WAREHOUSE_LOCK_TIMEOUT": "2"})
    st.migrate()
    st.start_broker()
    yield st
    st.stop()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_worker_killed_at_random_moments_loses_and_double_counts_nothing(stack):
    n, kills = int(scale("posts", 20_000)), int(scale("kills", 10))
    rng = random.Random(SEED)
    posts = valid_posts(n)
    head = n - n // 10                               # the tail is published after the last kill, so the
    assert stack.publish(posts[:head]) == head       # stream cannot run out before every kill was made
    worker = stack.start_worker("worker-1")
    done = 0
    # kill points: random positions in the stream (a worker that passes several at once is killed
    # right after it has made progress again; one that caught up with everything published is
    # killed idle)
    for k, at in enumerate(sorted(rng.sample(range(n // 20, head - n // 10), kills))):
        before = stack.stored()[1]
        deadline = time.monotonic() + 180
        while not ((stored := stack.stored()[1]) >= head or (stored > before and stored >= at)):
            assert worker.alive(), worker.tail(30)
            assert time.monotonic() < deadline, f"no progress after restart {k}:\n{worker.tail(30)}"
            time.sleep(0.1)
        time.sleep(rng.uniform(0, 0.3))          # … then a random moment: mid-batch, mid-insert, mid-commit
        worker.kill()
        done += 1
        worker = stack.start_worker(f"worker-{k + 2}")
    assert stack.publish(posts[head:]) == n - head
    stack.wait_stored(n, timeout=300, worker=worker)
    time.sleep(2)
    acc = account(stack, n)
    record("worker SIGKILL", produced=n, stored=acc["stored"], lost=acc["lost"], double=acc["double"], kills=done,
           note=f"redelivered {acc['redelivered']}, {acc['incidents']} incidents exact")
    print(f"\nreliability: {acc}")
    assert done == kills
    assert_exact(acc)


def test_broker_lost_for_a_while_then_sources_redeliver(stack):
    """Tansu (memory storage) loses its messages and offsets when it stops. The worker must
    survive the outage, notice that the broker came back as a new cluster and stop, so that its
    supervisor starts a fresh one on the new broker's earliest offsets; a source whose publish failed, or
    whose posts were not yet stored, re-delivers them (as a re-run of `tsur ingest` does), and
    deterministic ids make the re-delivery idempotent."""
    outage = scale("outage_s", 20)
    first, in_flight, during, after = (valid_posts(2000), valid_posts(1000, start=2000), valid_posts(2000, start=3000),
                                       valid_posts(1000, start=5000))
    stack.publish(first)
    worker = stack.start_worker()
    stack.wait_stored(2000, worker=worker)
    stack.publish(in_flight)                       # accepted by the broker …
    stack.broker.stop()                            # … which stops before the worker has them all
    t0 = time.monotonic()
    refused = 0
    try:
        stack.publish(during)                      # the source's next file: the broker is away
    except Exception:
        refused = len(during)
    while time.monotonic() - t0 < outage:
        assert worker.alive(), f"the worker died while the broker was down:\n{worker.tail(30)}"
        time.sleep(1)
    not_stored = 3000 - stack.stored()[1]          # unconsumed when the broker went: lost with it
    stack.start_broker()                           # a new, empty broker on the same port (a new cluster id)
    deadline = time.monotonic() + 60               # the worker notices and stops itself …
    while worker.alive():
        assert time.monotonic() < deadline, f"the worker did not notice the new broker:\n{worker.tail(30)}"
        time.sleep(0.5)
    assert "is a different cluster now" in open(worker.log_path, errors="replace").read()
    worker = stack.start_worker("worker-2")       # … and its supervisor starts it again (tsur up does)
    stack.publish(in_flight)                       # sources re-deliver what is not confirmed stored …
    stack.publish(during)
    stack.publish(after)                           # … and go on
    stack.wait_stored(6000, timeout=240, worker=worker)
    time.sleep(2)
    acc = account(stack, 6000)
    record("broker stopped", produced=6000, stored=acc["stored"], lost=acc["lost"], double=acc["double"],
           outage_s=int(outage), note=f"{not_stored} posts lost in the broker and {refused} refused, all re-delivered")
    print(f"\nreliability: broker outage {outage:.0f} s: {not_stored} accepted posts lost with the broker, {refused} refused "
          f"while it was down; after re-delivery {acc}")
    assert refused == len(during), "publishing to a stopped broker must fail loudly, not pretend"
    assert worker.alive()
    assert_exact(acc)


def test_warehouse_unavailable_worker_backs_off_with_bounded_memory(stack):
    outage = scale("outage_s", 20)
    n = 6000
    stack.publish(valid_posts(2000))
    worker = stack.start_worker()
    stack.wait_stored(2000, worker=worker)
    baseline = rss_mb(worker.proc.pid)
    peak = baseline
    lock = FileLock(str(lock_path(stack.s.clickhouse_dsn)))
    with lock:                                     # another process holds the embedded store
        t0 = time.monotonic()
        publisher = threading.Thread(target=stack.publish, args=(valid_posts(4000, start=2000),))
        publisher.start()                          # posts keep arriving during the outage
        while time.monotonic() - t0 < outage:
            assert worker.alive(), worker.tail(30)
            peak = max(peak, rss_mb(worker.proc.pid))
            time.sleep(0.5)
        publisher.join()
    stack.wait_stored(n, timeout=180, worker=worker)
    time.sleep(2)
    acc = account(stack, n)
    retries = open(worker.log_path, errors="replace").read().count("warehouse unavailable")
    record("warehouse locked", produced=n, stored=acc["stored"], lost=acc["lost"], double=acc["double"], outage_s=int(outage),
           note=f"{retries} backed-off retries, RSS {baseline:.0f} → peak {peak:.0f} MB")
    print(f"\nreliability: warehouse outage {outage:.0f} s, {retries} retries, worker RSS {baseline:.0f} MB → peak {peak:.0f} MB, {acc}")
    assert retries >= 1
    assert peak - baseline < 300, "worker memory grew without bound while the warehouse was away"
    assert_exact(acc)
