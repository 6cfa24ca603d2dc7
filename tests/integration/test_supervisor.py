"""`tsur up` starts the whole embedded stack under a supervisor (broker, worker, Airflow's
scheduler, dag-processor, triggerer and api-server, dashboard); a crashed worker is restarted;
a DAG runs on its (here: every-minute) schedule and the Airflow API shows the run; `tsur down`
stops everything by PID within its timeout."""
import json
import os
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import free_port, tsur_cmd

pytestmark = pytest.mark.slow


def _tsur(env, *args, timeout=120):
    return subprocess.run(tsur_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout)


def _wait_count(env, sql: str, expected: str, timeout: float = 120) -> None:
    """Until `tsur query` of a count gives ``expected``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = _tsur(env, "query", "--format", "csv", sql)
        if q.returncode == 0 and q.stdout.strip().splitlines()[-1] == expected:
            return
        time.sleep(2)
    assert q.stdout.strip().splitlines()[-1] == expected, q.stdout + q.stderr


def _pids_alive(pids) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    return alive


def test_up_schedule_restart_down(tsur_env, settings):
    from intake.replay_server import Replay, ReplayThread

    replay = Replay()                      # a Telegram channel the supervised collector reads
    channel = replay.channel("ustlabinsk24", "Усть-Лабинск 24")
    for k in range(12):
        replay.add(channel, f"Нет газа на улице Садовой, {k}", int(time.time()) - 600 + k)
    server = ReplayThread(replay).__enter__()
    sources = settings.data_dir / "sources.yaml"
    sources.parent.mkdir(parents=True, exist_ok=True)
    sources.write_text("region: Краснодарский край\npoll_seconds: 1\ntelegram:\n  channels:\n    - name: ustlabinsk24\n"
                       "      place: Усть-Лабинск\nvk:\n  communities:\n    - owner: -1\n", encoding="utf-8")
    env = {**tsur_env, "TSUR_AIRFLOW_PORT": str(free_port()), "TSUR_API_PORT": str(free_port()),
           "TSUR_SCHEDULE_POSTS_DAILY": "* * * * *", "TSUR_DAG_RETRIES": "0", "TSUR_COLLECTOR_PORT": str(free_port()),
           "TSUR_TELEGRAM_WEB_URL": server.url, "TSUR_TELEGRAM_RPS": "50",
           # only posts_daily is unpaused below: the other daily DAGs' first runs would queue ahead of it for the chDB slot
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"}
    up = _tsur(env, "up", "--wait", "400", timeout=450)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "TSUR_VK_TOKEN is not set: VK sources need an access token: not collected" in up.stdout + up.stderr
        state = json.loads(_tsur(env, "status", "--json").stdout)
        names = {c["name"] for c in state["components"]}
        assert {"broker", "worker", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                "airflow-api-server", "dashboard", "collector-telegram"} <= names and "collector-vk" not in names
        pids = [c["pid"] for c in state["components"]]

        # the collector's posts are stored, and `tsur status` shows its source
        _wait_count(env, "SELECT uniqExact(post_id) FROM posts_raw WHERE source = 'telegram'", "12")
        time.sleep(3)
        status = _tsur(env, "status").stdout
        assert "telegram:channel:ustlabinsk24" in status and " ok " in status, status
        collected = json.loads(_tsur(env, "status", "--json").stdout)["collected_sources"]
        assert [(x["key"], x["status"], x["published"]) for x in collected] == [("telegram:channel:ustlabinsk24", "ok", 12)]

        # posts arrive through the supervised broker and worker
        now = datetime.now(timezone.utc)
        posts = [{"source": "vk", "id": f"up{i}", "text": f"Нет света на улице Мира, дом {i}", "region_hint": "Краснодарский край",
                  "created_at": (now - timedelta(minutes=5)).isoformat()} for i in range(20)]
        path = settings.data_dir / "up-posts.jsonl"
        path.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in posts))
        r = _tsur(env, "ingest", str(path))
        assert r.returncode == 0, r.stderr

        # a crashed worker comes back
        worker = next(c for c in state["components"] if c["name"] == "worker")
        os.kill(worker["pid"], 9)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            w = next(c for c in json.loads(_tsur(env, "status", "--json").stdout)["components"] if c["name"] == "worker")
            if w["restarts"] >= 1 and w["status"] == "healthy":
                break
            time.sleep(2)
        assert w["restarts"] >= 1 and w["status"] == "healthy", w
        # … and stores the posts it had not acknowledged (healthy comes before its partitions are
        # assigned again: the killed member holds them until its session times out)
        _wait_count(env, "SELECT uniqExact(post_id) FROM posts_raw WHERE source = 'vk'", "20")

        # posts_daily runs on its schedule (every minute here) and succeeds; the API lists the run
        deadline = time.monotonic() + 120
        while _tsur(env, "airflow", "dags", "unpause", "posts_daily").returncode != 0 and time.monotonic() < deadline:
            time.sleep(3)                       # (until the dag-processor has parsed it)
        runs, deadline = [], time.monotonic() + 240
        while time.monotonic() < deadline:
            r = _tsur(env, "airflow", "dags", "list-runs", "posts_daily", "-o", "json")
            lines = [ln for ln in r.stdout.splitlines() if ln.startswith("[{") or ln == "[]"]
            runs = json.loads(lines[-1]) if r.returncode == 0 and lines else []
            if any(x["state"] == "success" for x in runs):
                break
            time.sleep(5)
        assert any(x["state"] == "success" and x["run_id"].startswith("scheduled__") for x in runs), runs
        q = _tsur(env, "query", "--format", "csv", "SELECT sum(posts) FROM report_posts_daily FINAL WHERE day = toDate(now(), 'Europe/Moscow')")
        assert q.returncode == 0 and q.stdout.strip().splitlines()[-1] == "32", q.stdout + q.stderr    # 20 ingested + 12 collected
    finally:
        t0 = time.monotonic()
        down = _tsur(env, "down", "--timeout", "60", timeout=120)
        took = time.monotonic() - t0
        server.__exit__(None, None, None)
    assert down.returncode == 0, down.stderr
    print(f"\nsupervisor: up in {up.stdout.count('waiting')} progress lines, down in {took:.1f} s")
    assert took < 90
    time.sleep(1)
    assert _pids_alive(pids) == [], "processes left after tsur down"
    assert _tsur(env, "status").returncode == 3
