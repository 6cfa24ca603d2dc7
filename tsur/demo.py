"""The main job on the embedded default (``tsur demo``): broker + worker + sample posts +
DAGs, then row counts and where the results are. Grows as capabilities land."""
from __future__ import annotations

import json
import time
from datetime import date

from tsur import processes
from tsur.config import Settings


def _count_stored(s: Settings, ids: list[str]) -> int:
    from warehouse.session import warehouse_session

    with warehouse_session(s.clickhouse_dsn, s.warehouse_lock_timeout) as client:
        return int(client.query(
            "SELECT uniqExact(post_id) FROM posts_raw WHERE post_id IN {ids:Array(String)}", parameters={"ids": ids}
        ).result_rows[0][0])


def run_demo(s: Settings, days: int, per_day: int, seed: int, region: str, say=print) -> int:
    from intake.raw_post import post_id_for
    from intake.sample import generate
    from tsur.airflow_env import prepare_metadata, run_airflow
    from tsur.cli import CommandError, _ensure_topics, _ingest, _migrate_quietly, _start_broker, worker_argv
    from warehouse.session import warehouse_session

    t_start = time.monotonic()
    say(f"== tsur demo: data dir {s.data_dir}")
    _migrate_quietly(s)

    sample_path = s.data_dir / "sample" / f"posts-{region}-{days}d-seed{seed}.jsonl"
    sample_path.parent.mkdir(parents=True, exist_ok=True)
    posts = list(generate(region, days, seed, per_day=per_day))
    with open(sample_path, "w", encoding="utf-8") as fh:
        for p in posts:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    ids = [post_id_for(p["source"], str(p["id"])) for p in posts]
    sample_days = sorted({date.fromisoformat(p["created_at"][:10]) for p in posts})
    say(f"== sample: {len(posts)} posts over {len(sample_days)} days in {sample_path}")

    broker = None
    if not processes.port_open("127.0.0.1", s.broker_port):
        broker = _start_broker(s)
        say(f"== broker (Tansu) started on 127.0.0.1:{s.broker_port}")
    else:
        say(f"== using the broker already listening on 127.0.0.1:{s.broker_port}")
    worker = None
    try:
        _ensure_topics(s)
        worker = processes.start("worker", worker_argv(), s.logs_dir)
        say(f"== worker started (log {worker.log_path})")
        sent = _ingest(s, str(sample_path), rate=None)
        say(f"== published {sent} posts to {s.topics['posts_raw']}")
        deadline = time.monotonic() + 180
        stored = 0
        while time.monotonic() < deadline:
            if not worker.alive():
                raise CommandError(f"the worker stopped; see {worker.log_path}:\n{worker.tail(15)}")
            stored = _count_stored(s, ids)
            if stored >= len(set(ids)):
                break
            time.sleep(1.0)
        say(f"== stored in ClickHouse: {stored} of {len(set(ids))} posts")
        if stored < len(set(ids)):
            raise CommandError(f"only {stored} of {len(set(ids))} posts reached ClickHouse in time; see {worker.log_path}")
    finally:
        if worker:
            worker.stop()
        if broker:
            broker.stop()

    say("== Airflow: preparing metadata DB (SQLite) and the chdb pool")
    prepare_metadata(s)
    for day in sample_days:
        t0 = time.monotonic()
        r = run_airflow(s, ["dags", "test", "posts_daily", day.isoformat()], check=False, capture=True)
        state = "success" if r.returncode == 0 else f"FAILED (exit {r.returncode})"
        say(f"   posts_daily {day}: {state} in {time.monotonic() - t0:.1f} s")
        if r.returncode != 0:
            raise CommandError(f"DAG posts_daily failed for {day}:\n{(r.stdout + r.stderr)[-2000:]}")

    with warehouse_session(s.clickhouse_dsn, s.warehouse_lock_timeout) as client:
        total = client.query("SELECT uniqExact(post_id) FROM posts_raw").result_rows[0][0]
        daily = client.query(
            "SELECT day, sum(posts), uniqExact(source) FROM report_posts_daily FINAL GROUP BY day ORDER BY day"
        ).result_rows
    say("== results")
    say(f"   posts_raw: {total} distinct posts")
    for day, n, sources in daily:
        say(f"   report_posts_daily {day}: {n} posts from {sources} sources")
    say(f"   warehouse: {s.clickhouse_dsn}   (query it: tsur query \"SELECT ...\")")
    say(f"   logs: {s.logs_dir}   airflow home: {s.airflow_home}")
    say(f"== done in {time.monotonic() - t_start:.0f} s")
    return 0
