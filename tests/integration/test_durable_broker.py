"""The durable local broker (Tansu ``s3://`` on localbucket, the product's default): what it
acknowledged survives kills of the broker, of its S3 server and of everything at once, **without
any re-delivery from the source** — each post is published exactly once, and the account must
still be exact (every post stored once, incidents counted right). Also: retention removes only
consumed batches, and the backlog is read from the store, not from ListOffsets.

CI runs these at the issue's size (20,000 posts, 5 kills); FAULT_* scales them (tests/reliability.py)."""
import json
import os
import signal
import subprocess
import time

import pytest

from tests.conftest import free_port, tsur_cmd
from tests.integration.stream_harness import Stack, account, assert_exact, valid_posts
from tests.reliability import record, scale
from tsur import processes
from tsur.broker import broker_argv, broker_env, s3_server_argv

pytestmark = pytest.mark.slow


@pytest.fixture
def durable_env(tsur_env, monkeypatch):
    monkeypatch.setenv("TSUR_BROKER_STORAGE", "s3")
    return {**tsur_env, "TSUR_BROKER_STORAGE": "s3"}


@pytest.fixture
def stack(durable_env):
    from tsur.config import Settings

    st = Stack(Settings.from_env(), {**durable_env, "TSUR_SINK_BATCH_SIZE": "500", "TSUR_SINK_BATCH_SECONDS": "0.2"})
    st.migrate()
    st.start_broker()
    yield st
    st.stop()


def _restart(stack: Stack, which: str) -> None:
    """SIGKILL one of the durable broker's two processes and start it again on the same data."""
    s, lb = stack.s, stack.broker
    child = lb.broker if which == "broker" else lb.s3
    child.kill()
    time.sleep(0.5)
    if which == "broker":
        lb.broker = processes.start("broker", broker_argv(s), s.logs_dir, env=broker_env(s))
        processes.wait_listening(lb.broker, s.broker_port, "the broker")
    else:
        lb.s3 = processes.start("broker-s3", s3_server_argv(s), s.logs_dir)
        processes.wait_listening(lb.s3, s.broker_s3_port, "the S3 server")


def _kill_during_stream(stack: Stack, which: str) -> dict:
    n, kills = int(scale("posts", 20_000)), int(scale("kills", 5))
    posts = valid_posts(n)
    head = n - n // 10
    assert stack.publish(posts[:head]) == head          # acknowledged by the broker; never published again
    worker = stack.start_worker()
    marks = [head * (k + 1) // (kills + 2) for k in range(kills)]
    for k, at in enumerate(marks):
        deadline = time.monotonic() + 240
        while stack.stored()[1] < at:
            assert worker.alive(), f"the worker died after {k} {which} kills:\n{worker.tail(30)}"
            assert time.monotonic() < deadline, f"no progress after {k} {which} kills:\n{worker.tail(30)}"
            time.sleep(0.2)
        _restart(stack, which)
    assert stack.publish(posts[head:]) == n - head
    stack.wait_stored(n, timeout=240, worker=worker)
    time.sleep(2)
    acc = account(stack, n)
    record(f"{which} SIGKILL (durable)", produced=n, stored=acc["stored"], lost=acc["lost"], double=acc["double"],
           kills=kills, note=f"no source re-delivery; redelivered by the broker {acc['redelivered']}")
    print(f"\nreliability: {which} SIGKILLed {kills}× (durable storage): {acc}")
    assert worker.alive(), "the worker must go on after the broker came back as the same cluster"
    assert "is a different cluster now" not in open(worker.log_path, errors="replace").read()
    return acc


def test_broker_killed_five_times_nothing_lost_without_redelivery(stack):
    assert_exact(_kill_during_stream(stack, "broker"))


def test_s3_server_killed_five_times_nothing_lost_without_redelivery(stack):
    assert_exact(_kill_during_stream(stack, "s3"))


def test_retention_removes_only_consumed_batches_and_backlog_comes_from_the_store(stack, monkeypatch):
    from dataclasses import replace

    from tsur.broker_retention import backlog, cluster_root, trim

    n = 3000
    for k in range(0, n, 100):                          # many produce requests: many batches to trim
        assert stack.publish(valid_posts(100, start=k)) == 100
    assert backlog(stack.s) == {"posts.raw": n, "incidents.status": 0, "alerts": 0}      # nothing consumed yet
    tight = replace(stack.s, broker_retention_mb=1)                          # every partition is "too big"
    future = time.time() + 10 * 365 * 86400                                  # and everything "too old"
    before = trim(tight, now=future)
    assert before.removed_batches == 0 and before.unconsumed_bytes == before.kept_bytes > 0, before
    worker = stack.start_worker()
    stack.wait_stored(n, worker=worker)
    deadline = time.monotonic() + 30                   # the worker commits after storing
    while backlog(stack.s)["posts.raw"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert backlog(stack.s)["posts.raw"] == 0
    worker.stop()
    kept_now = trim(stack.s)                           # within the bounds (24 h, 1 GB): nothing goes
    assert kept_now.removed_batches == 0
    raw = cluster_root(stack.s) / "topics" / "posts.raw" / "partitions"
    with_data = [p for p in raw.iterdir() if list((p / "records").glob("*.batch"))]
    after = trim(tight, now=future)
    assert after.removed_batches > 0 and after.freed_bytes > 0, after
    assert after.unconsumed_bytes == 0
    assert all(len(list((p / "records").glob("*.batch"))) == 1 for p in with_data)   # only the last batch stays
    more = valid_posts(500, start=n)                   # the broker and a new worker go on after the trim
    assert stack.publish(more) == 500
    worker = stack.start_worker("worker-2")
    stack.wait_stored(n + 500, worker=worker)
    acc = account(stack, n + 500)
    print(f"\nretention: {after.line()}; then {acc}")
    assert_exact(acc)


def _tsur(env, *args, timeout=120):
    return subprocess.run(tsur_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout)


def test_everything_killed_at_once_then_up_again_processes_the_backlog(durable_env, settings):
    """`tsur up` (broker, its S3 server, worker), a backlog in the broker, SIGKILL to every process
    at once (supervisor included), `tsur up` again: the backlog is processed, each post once."""
    env = {**durable_env, "TSUR_API_PORT": str(free_port()), "TSUR_SINK_BATCH_SIZE": "500"}
    stack = Stack(settings, env)
    n = int(scale("posts", 20_000)) // 2
    up = _tsur(env, "up", "--no-airflow", "--no-dashboard", "--wait", "180", timeout=240)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = json.loads(_tsur(env, "status", "--json").stdout)     # asked before the stream: no delay at the kill
        pids = [state["supervisor_pid"]] + [c["pid"] for c in state["components"] if c["pid"]]
        assert {c["name"] for c in state["components"]} >= {"broker-s3", "broker", "worker"}
        assert stack.publish(valid_posts(n)) == n
        deadline = time.monotonic() + 120
        while stack.stored()[1] < n // 10:
            assert time.monotonic() < deadline, "nothing stored"
            time.sleep(0.05)
        for pid in pids:                                     # a power cut, as far as processes go
            try:
                os.killpg(pid, signal.SIGKILL) if pid != state["supervisor_pid"] else os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(1)
        backlog_left = n - stack.stored()[1]
        assert backlog_left > 0, "the worker finished before the kill: nothing to prove"
        again = _tsur(env, "up", "--no-airflow", "--no-dashboard", "--wait", "180", timeout=240)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already up" not in again.stdout + again.stderr, "the killed supervisor's PID file was taken for a live one"
        got = stack.wait_stored(n, timeout=180)
        time.sleep(2)
        acc = account(stack, n)
        status = _tsur(env, "status").stdout
    finally:
        _tsur(env, "down", "--timeout", "60", timeout=120)
    record("everything SIGKILL (durable)", produced=n, stored=acc["stored"], lost=acc["lost"], double=acc["double"],
           kills=1, note=f"{backlog_left} posts waiting in the broker at the kill; no source re-delivery")
    print(f"\nreliability: everything killed with {backlog_left} posts in the backlog; after `tsur up`: {acc}; {got}")
    assert "broker storage s3" in status, status
    assert_exact(acc)
