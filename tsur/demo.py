"""The main job on the embedded default (``tsur demo``): broker + worker + sample posts +
simulated operators + DAGs, then row counts and where the results are. Grows as capabilities land."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import date, datetime, timezone

from tsur import processes
from tsur.config import Settings
from tsur.errors import CommandError

DAGS = ("posts_daily", "heatmap_daily", "sla_daily", "regional_rollup", "regional_rollup_weekly")


def _scalar(s: Settings, sql: str, **params) -> int:
    from warehouse.session import warehouse_session

    with warehouse_session(s.clickhouse_dsn, s.warehouse_lock_timeout) as client:
        return int(client.query(sql, parameters=params).result_rows[0][0])


def _wait(s: Settings, what: str, sql: str, target: int, worker, timeout: float, say, **params) -> int:
    deadline = time.monotonic() + timeout
    got = last_said = 0
    while time.monotonic() < deadline:
        if not worker.alive():
            raise CommandError(f"the worker stopped; see {worker.log_path}:\n{worker.tail(15)}")
        got = _scalar(s, sql, **params)
        if got >= target:
            break
        if time.monotonic() - last_said > 10:
            say(f"   … {what}: {got} of {target}")
            last_said = time.monotonic()
        time.sleep(1.0)
    if got < target:
        raise CommandError(f"only {got} of {target} {what} reached ClickHouse in {timeout:.0f} s; see {worker.log_path}")
    return got


def run_demo(s: Settings, days: int, per_day: int, seed: int, region: str, say=print) -> int:
    from intake.collector import Endpoints, collect
    from intake.raw_post import post_id_for
    from intake.replay_server import Replay, ReplayThread
    from intake.sample import generate
    from intake.sources import dump_sources
    from tsur.airflow_env import prepare_metadata, run_dags
    from intake.adapters import posts_from_file
    from intake.producer import publish, publish_json
    from tsur.broker import create_topics, start_local_broker
    from warehouse.migrations import migrate_with_retention
    from tsur.operator_simulator import load_incidents, status_events
    from warehouse.session import warehouse_session

    t_start = time.monotonic()
    say(f"== tsur demo: data dir {s.data_dir}")
    migrate_with_retention(s.clickhouse_dsn, s.warehouse_lock_timeout, s.retention_days, log=say)

    sample_path = s.data_dir / "sample" / f"posts-{region}-{days}d-seed{seed}.jsonl"
    sample_path.parent.mkdir(parents=True, exist_ok=True)
    posts = list(generate(region, days, seed, per_day=per_day))
    with open(sample_path, "w", encoding="utf-8") as fh:
        for p in posts:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    sample_days = sorted({date.fromisoformat(p["created_at"][:10]) for p in posts})
    replay = Replay()
    served = replay.load_sample(posts, comments_every=5)
    others = [p for p in posts if p["source"] not in ("vk", "telegram", "ok")]
    archive = sample_path.with_name(sample_path.stem + "-archive.jsonl")      # portal posts: file ingest
    archive.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in others), encoding="utf-8")
    ids = sorted({post_id_for(src, sid) for src, sid in replay.source_post_ids()} | {post_id_for(p["source"], str(p["id"])) for p in others})
    registry = replay.registry(region, served["places"], backfill_days=days + 2)
    (s.data_dir / "sample" / "sources-replay.yaml").write_text(dump_sources(registry), encoding="utf-8")
    say(f"== sample: {len(posts)} posts over {len(sample_days)} days in {sample_path}: {served['vk']} on "
        f"{len(replay.walls)} VK walls ({served['comments']} of them as comments), {served['telegram']} in {len(replay.channels)} Telegram channels "
        f"and {served['ok']} in {len(replay.ok_groups)} OK groups served by a local replay of their APIs, {len(others)} from a portal in a file")

    broker = None
    if not processes.port_open("127.0.0.1", s.broker_port):
        broker = start_local_broker(s)
        say(f"== broker (Tansu) started on 127.0.0.1:{s.broker_port}, storage {s.broker_storage}")
    else:
        say(f"== using the broker already listening on 127.0.0.1:{s.broker_port}")
    worker = None
    try:
        create_topics(s, say)
        worker = processes.start("worker", processes.worker_argv(), s.logs_dir)
        say(f"== worker started (log {worker.log_path})")
        t0 = time.monotonic()
        with ReplayThread(replay) as server:
            ep = Endpoints(f"{server.url}/method", server.url, replay.token, vk_rps=100, telegram_rps=100, ok_api_url=f"{server.url}/fb.do",
                           ok_app_key=replay.OK_APP_KEY, ok_app_secret=replay.OK_APP_SECRET, ok_token=replay.token, ok_rps=100)
            totals = asyncio.run(collect(s, registry, once=True, endpoints=ep, say=lambda m: None, confirm_wait=600))
        say(f"== collectors (VK wall.get + wall.getComments, Telegram t.me/s, OK mediatopic.getTopics) published {totals['published']} posts "
            f"from {totals['sources']} sources in {time.monotonic() - t0:.1f} s; {totals['confirmed']} confirmed stored")
        sent = publish(s.bootstrap_servers, s.topics["posts_raw"], posts_from_file(str(archive)))
        say(f"== published {sent} archived posts from {archive.name} to {s.topics['posts_raw']}")
        stored = _wait(s, "enriched posts", "SELECT uniqExact(post_id) FROM posts_enriched WHERE post_id IN {ids:Array(String)}",
                       len(ids), worker, 600, say, ids=ids)
        say(f"== enriched and stored: {stored} posts in {time.monotonic() - t0:.1f} s")
        events = status_events(load_incidents(s), datetime.now(timezone.utc), seed)
        publish_json(s.bootstrap_servers, s.topics["incidents_status"], events)
        n_events = len({(e["incident_id"], e["status"], e["at"]) for e in events})
        _wait(s, "status events", "SELECT count() FROM incident_status_events FINAL", n_events, worker, 120, say)
        say(f"== simulated operators: {n_events} status events stored")
    finally:
        if worker:
            worker.stop()
        if broker:
            broker.stop()

    say("== Airflow: preparing metadata DB (SQLite) and the chdb pool")
    prepare_metadata(s)
    say(f"== Airflow: {', '.join(DAGS)} for {sample_days[0]} … {sample_days[-1]} (dag.test in one Airflow process)")
    if not run_dags(s, list(DAGS), sample_days, say):
        raise CommandError(f"a DAG run failed; see {s.logs_dir / 'dag-runner.log'}")

    with warehouse_session(s.clickhouse_dsn, s.warehouse_lock_timeout) as client:
        q = lambda sql: client.query(sql).result_rows
        (total, enriched, complaints), = q("SELECT (SELECT uniqExact(post_id) FROM posts_raw), (SELECT uniqExact(post_id) FROM posts_enriched), "
                                           "(SELECT countIf(is_complaint = 1) FROM posts_enriched FINAL)")
        (incidents, overdue), = q("SELECT count(), countIf(first_answer_overdue) FROM incident_current")
        alerts = q("SELECT sector, oktmo, region, observed, round(baseline, 2), window_end FROM alerts FINAL ORDER BY window_end")
        top = q("SELECT settlement, municipality, sector, posts_count, status FROM incident_current ORDER BY posts_count DESC LIMIT 5")
        sectors = q("SELECT sector, count() FROM posts_enriched FINAL WHERE is_complaint = 1 GROUP BY sector ORDER BY count() DESC")
        published = q("SELECT product, count(), max(day) FROM published_reports FINAL GROUP BY product ORDER BY product")
    say("== results")
    say(f"   posts: {total} stored, {enriched} enriched, {complaints} complaints; incidents: {incidents} ({overdue} with the first answer overdue)")
    say("   complaints by sector: " + ", ".join(f"{sec} {n}" for sec, n in sectors))
    for settlement, muni, sector, n, status in top:
        say(f"   top incident: {settlement or '—'} ({muni}), {sector}, {n} posts, {status}")
    for sector, oktmo, alert_region, observed, baseline, end in alerts[:5]:
        say(f"   tension alert: {sector} in {oktmo or alert_region}: {observed} complaints in 3 h (baseline {baseline}) at {end}")
    last = s.reports_dir / region / sample_days[-1].isoformat()
    for product, n, day in published:
        say(f"   published {product}: {n} files (latest day {day})")
    say(f"   maps and reports of {sample_days[-1]}: {last}")
    for name in ("heatmap.png", "heatmap.geojson", "rollup.html", "rollup.pdf", "rollup-7d.html"):
        if (last / name).exists():
            say(f"     {last / name}")
    sla_files = sorted(last.glob("sla-*.pdf"))
    if sla_files:
        say(f"     {len(sla_files)} municipal SLA reports, e.g. {sla_files[0].with_suffix('.html')} (.pdf, .xlsx)")
    say(f"   warehouse: {s.clickhouse_dsn}   (query it: tsur query \"SELECT * FROM incident_current LIMIT 10\")")
    say(f"   logs: {s.logs_dir}   airflow home: {s.airflow_home}")
    say(f"== done in {time.monotonic() - t_start:.0f} s")
    return 0
