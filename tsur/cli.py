"""tsur — operator commands. One entry point; ``tsur COMMAND --help`` for each command.

Bad configuration ends in one line naming the variable and the fix (exit 2), never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

from nlp.corpus import SECTORS
from tsur import processes
from tsur.config import ConfigError, Settings
from tsur.errors import CommandError


def _settings() -> Settings:
    return Settings.from_env()


def _say(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------- warehouse
def cmd_migrate(args) -> int:
    from warehouse import retention
    from warehouse.migrations import migrate
    from warehouse.session import warehouse_session

    s = _settings()
    with warehouse_session(s.clickhouse_dsn, s.warehouse_lock_timeout) as client:
        done = migrate(client, log=_say)
        retention.apply(client, s.retention_days, log=_say)
    _say(f"warehouse schema is current ({len(done)} migration(s) applied now) at {s.clickhouse_dsn}")
    return 0


def cmd_cluster_ddl(args) -> int:
    from warehouse.cluster_ddl import ClusterDDLError, render_sql

    try:
        sys.stdout.write(render_sql(cluster=args.cluster, database=args.database, after=args.after))
    except ClusterDDLError as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_query(args) -> int:
    from warehouse.session import warehouse_session

    s = _settings()
    with warehouse_session(s.clickhouse_dsn, s.warehouse_lock_timeout) as client:
        try:
            result = client.query(args.sql, settings={"readonly": 1})
        except Exception as exc:
            raise CommandError(f"query failed: {str(exc).strip().splitlines()[0][:300]}") from None
    names, rows = result.column_names, result.result_rows
    if args.format == "csv":
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(names)
        w.writerows(rows)
    else:
        cells = [[str(c) for c in names]] + [[str(v) for v in r] for r in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(names))]
        for i, row in enumerate(cells):
            _say("  ".join(v.ljust(w) for v, w in zip(row, widths)))
            if i == 0:
                _say("  ".join("-" * w for w in widths))
    return 0


# ---------------------------------------------------------------- broker / worker
def cmd_broker(args) -> int:
    from tsur.broker import create_topics, describe_storage, start_local_broker
    from tsur.broker_retention import TRIM_EVERY_S, trim

    s = _settings()
    broker = start_local_broker(s)
    create_topics(s, _say)
    _say(f"broker (Tansu) listening on 127.0.0.1:{s.broker_port}; log {broker.log_path}")
    _say(f"storage {describe_storage(s)}")
    last_trim = time.monotonic()
    try:
        while broker.alive():
            time.sleep(0.5)
            if time.monotonic() - last_trim > TRIM_EVERY_S:     # bounded disk (tsur/broker_retention.py)
                trim(s, log=_say)
                last_trim = time.monotonic()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


def cmd_worker(args) -> int:
    s = _settings()
    _migrate_quietly(s)
    os.execv(sys.executable, processes.worker_argv(["--web-port", str(args.web_port)] if args.web_port else None))
    return 0


def _migrate_quietly(s: Settings) -> None:
    from warehouse.migrations import migrate_with_retention

    migrate_with_retention(s.clickhouse_dsn, s.warehouse_lock_timeout, s.retention_days, log=_say)


# ---------------------------------------------------------------- intake
def cmd_sample(args) -> int:
    from intake.sample import generate

    end = date.fromisoformat(args.end) if args.end else None
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    n = 0
    try:
        for post in generate(args.region, args.days, args.seed, per_day=args.per_day, end=end):
            out.write(json.dumps(post, ensure_ascii=False) + "\n")
            n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out != "-":
        _say(f"wrote {n} sample posts to {args.out}")
    return 0


class _BrokerErrors:
    """Turn the Kafka client's connection errors into one line naming TSUR_BROKER_URL."""

    def __init__(self, s: Settings):
        self.s = s

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and type(exc).__name__ in ("KafkaConnectionError", "KafkaTimeoutError"):
            raise CommandError(f"cannot reach the broker at TSUR_BROKER_URL={self.s.broker_url}; start it with `tsur broker`") from None
        return False


def _ingest(s: Settings, path: str, rate: float | None, quiet: bool = False, fmt: str = "auto") -> int:
    from tqdm import tqdm

    from intake.adapters import posts_from_file
    from intake.producer import publish

    if path != "-" and not Path(path).exists():
        raise CommandError(f"no such file: {path}")
    with tqdm(unit=" posts", desc="ingest", disable=quiet, mininterval=1.0) as bar:
        try:
            with _BrokerErrors(s):
                return publish(s.bootstrap_servers, s.topics["posts_raw"], posts_from_file(path, fmt), rate, bar.update)
        except ValueError as exc:
            raise CommandError(f"{path}: {exc}") from None


def cmd_ingest(args) -> int:
    s = _settings()
    n = _ingest(s, args.file, args.rate, fmt=args.format)
    _say(f"published {n} posts to {s.topics['posts_raw']}")
    return 0


def cmd_collect(args) -> int:
    import asyncio
    import signal

    from intake.collector import collect
    from intake.sources import SourcesError, load_sources

    s = _settings()
    path = Path(args.sources) if args.sources else s.sources_path
    try:
        registry = load_sources(path)
    except SourcesError as exc:
        raise CommandError(str(exc)) from None
    if not registry.for_platform(args.platform):
        raise CommandError(f"{path} lists no {args.platform} sources")
    if s.embedded_warehouse:      # a server's schema is `tsur migrate`'s (tsur-migrate in production), not the collector's
        _migrate_quietly(s)

    async def main() -> dict:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await collect(s, registry, args.platform, once=args.once, metrics_port=args.metrics_port, stop=stop, say=_say)

    try:
        with _BrokerErrors(s):
            totals = asyncio.run(main())
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _say(f"collector: published {totals['published']}, stored {totals['confirmed']}, still unconfirmed {totals['pending']}"
         + (f"; stopped: {', '.join(totals['stopped'])}" if totals["stopped"] else ""))
    return 1 if args.once and (totals["pending"] or totals["stopped"]) else 0


def cmd_telegram_login(args) -> int:
    import asyncio

    from intake.telegram_account import login, session_path

    s = _settings()
    if not (s.telegram_api_id and s.telegram_api_hash):
        raise CommandError("set TSUR_TELEGRAM_API_ID and TSUR_TELEGRAM_API_HASH (an application of the account at my.telegram.org)")
    session = session_path(s.data_dir)
    who = asyncio.run(login(session, s.telegram_api_id, s.telegram_api_hash))
    file = session.with_name(session.name + ".session")
    if file.exists():
        file.chmod(0o600)
    _say(f"authorised as {who}; the session is in {file} (mode 0600): `tsur collect` reads telegram.account chats with it")
    return 0


# ---------------------------------------------------------------- enrichment
REFUSED = 3     # `train-sectors --publish-if-better`: the candidate scored worse, nothing published


def cmd_train_sectors(args) -> int:
    from nlp import corpus, what

    s = _settings()
    extra: list = []
    if args.with_corrections:
        from datetime import datetime, timedelta, timezone

        from warehouse.queries import named_query
        from warehouse.session import warehouse_session

        since = datetime.now(timezone.utc) - timedelta(days=args.days)
        with warehouse_session(s.clickhouse_dsn) as client:
            rows = client.query(named_query("sector_corrections"), parameters={"since": since}).result_rows
        extra = [corpus.Example(text, sector, True) for _, text, sector in rows if text and text.strip()]
        _say(f"operators' corrections: {len(extra)} posts of corrected incidents (last {args.days} days)")
    evals = {path: what.load_labelled(Path(path)) for path in args.eval or ()}
    t0 = time.monotonic()
    model = what.train(extra=extra)
    _say(f"trained {model.version} in {time.monotonic() - t0:.1f} s "
         f"(sector: {model.sector.info['n_train']} posts, {model.sector.info['n_features']} features, "
         f"cv accuracy {model.sector.info['cv_accuracy']:.3f}; complaint: {model.complaint.info['n_train']} posts)")
    held = what.evaluate(model)
    _say(what.format_report(held))
    labelled = {path: what.evaluate_labelled(model, rows) for path, rows in evals.items()}
    for path, m in labelled.items():
        _say(what.format_labelled(path, m))
    out = Path(args.out) if args.out else (s.sector_model if args.with_corrections else what.MODEL_PATH)
    deployed = s.sector_model if s.sector_model.exists() else what.MODEL_PATH
    table, worse = what.compare(what.WhatModel.load(deployed), model, what.scores(held, labelled), evals)
    _say(f"deployed ({deployed}) and candidate side by side:\n{table}")
    if args.dry_run:
        return 0
    if args.publish_if_better and worse:
        _say("not published: the candidate scores worse than the deployed model on a set above")
        return REFUSED
    _say(f"saved {what.save(model, out)}" + ("" if out == what.MODEL_PATH else " (workers load it at their next start)"))
    return 0


def cmd_enrich(args) -> int:
    from tqdm import tqdm

    from enrichment.enricher import Enricher, Rejected

    s = _settings()
    enricher = Enricher.load(h3_resolution=args.h3_resolution, region_centre=s.place_region_centre, sector_model=s.sector_model)
    src = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8", errors="replace")
    dst = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    total = None
    if args.file != "-":
        with open(args.file, "rb") as fh:
            total = sum(1 for _ in fh)
    bar = tqdm(total=total, unit=" posts", desc="enrich", disable=args.out == "-" and args.file == "-", mininterval=1.0, file=sys.stderr)

    def flush(batch):
        posts = []
        for line in batch:
            try:
                posts.append(json.loads(line))
            except ValueError:
                posts.append(None)
        enriched = enricher.enrich_batch([p if isinstance(p, dict) else {"text": None, "_bad": True} for p in posts])
        for post, res in zip(posts, enriched):
            pid = post.get("id") if isinstance(post, dict) else None
            if post is None or not isinstance(post, dict):
                res = Rejected("line is not a JSON object")
            if isinstance(res, Rejected):
                out = {"id": pid, "error": res.reason, **{k: None for k in OUTPUT_FIELDS}}
            else:
                out = {"id": pid, **res.to_json()}
            dst.write(json.dumps(out, ensure_ascii=False) + "\n")
        bar.update(len(batch))

    batch: list[str] = []
    try:
        for line in src:
            if not line.strip():
                continue
            batch.append(line)
            if len(batch) >= 512:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
    finally:
        bar.close()
        if dst is not sys.stdout:
            dst.close()
    return 0


OUTPUT_FIELDS = ("sector", "sector_confidence", "complaint_score", "urgency", "region", "municipality", "settlement",
                 "oktmo", "lat", "lon", "h3", "place_confidence")


# ---------------------------------------------------------------- incidents
def _publish_json(s: Settings, topic_key: str, objs: list[dict]) -> int:
    from intake.producer import publish_json

    with _BrokerErrors(s):
        return publish_json(s.bootstrap_servers, s.topics[topic_key], objs)


def cmd_incident_update(args) -> int:
    from streams.status_events import parse_status_event

    s = _settings()
    if not args.status and not args.sector:
        raise CommandError("give --status, --sector (a correction of the incident's sector), or both")
    status = args.status or "assigned"         # a sector correction re-routes: the incident is assigned anew
    event = {"incident_id": args.incident_id, "status": status, "actor": args.actor, "comment": args.comment}
    if args.sector:
        event["sector"] = args.sector
    if args.at:
        event["at"] = args.at
    checked = parse_status_event(json.dumps(event))
    if isinstance(checked, str):
        raise CommandError(checked)
    _publish_json(s, "incidents_status", [event])
    sent = f"{status}" + (f" with the sector corrected to {args.sector}" if args.sector else "")
    _say(f"sent {sent} for incident {args.incident_id} to {s.topics['incidents_status']}")
    return 0


def cmd_simulate_operators(args) -> int:
    from datetime import datetime, timezone

    from tsur.operator_simulator import load_incidents, status_events

    s = _settings()
    events = status_events(load_incidents(s), datetime.now(timezone.utc), seed=args.seed)
    n = _publish_json(s, "incidents_status", events)
    _say(f"sent {n} simulated status events to {s.topics['incidents_status']}")
    return 0


# ---------------------------------------------------------------- airflow
def cmd_airflow(args) -> int:
    from tsur.airflow_env import run_airflow

    s = _settings()
    return run_airflow(s, args.args, check=False).returncode


def cmd_run_dags(args) -> int:
    from tsur.airflow_env import prepare_metadata, run_dags

    s = _settings()
    days = [date.fromisoformat(d) for d in args.dates]
    if args.prepare:
        prepare_metadata(s)
    return 0 if run_dags(s, args.dags.split(","), days, _say) else 1


# ---------------------------------------------------------------- supervised stack (tsur/supervisor.py)
def _status_table(state: dict) -> str:
    rows = [("component", "status", "pid", "restarts", "where / problem")]
    for c in state["components"]:
        rows.append((c["name"], c["status"], str(c["pid"] or "-"), str(c["restarts"]), c["problem"] or c["url"] or c["log"]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def _collector_sources(s: Settings) -> list[dict]:
    """Every collected source as the collectors last wrote it (<data dir>/run/collector*.json)."""
    from intake.collector import state_file

    out = []
    for platform in ("vk", "telegram", "ok", None):
        try:
            out += json.loads(state_file(s, platform).read_text()).get("sources", [])
        except (OSError, ValueError):
            continue
    return out


def _collector_table(s: Settings) -> str:
    """The collectors' sources: status, last poll, lag, published, errors or the problem."""
    rows = [("source", "status", "last poll", "lag s", "published", "errors / problem")]
    for x in _collector_sources(s):
        errors = ", ".join(f"{k} {v}" for k, v in sorted(x.get("errors", {}).items()))
        rows.append((x["key"], x["status"], (x.get("last_poll") or "-")[11:19], str(x.get("lag_s", "")), str(x.get("published", 0)),
                     x.get("problem") or errors))
    if len(rows) == 1:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r[:5], widths)) + "  " + r[5] for r in rows)


def cmd_up(args) -> int:
    from intake.sources import SourcesError
    from tsur import supervisor

    s = _settings()
    pid = supervisor.supervisor_pid(s)
    if pid:
        _say(f"tsur is already up (supervisor pid {pid}); `tsur status` shows it, `tsur down` stops it")
        return 0
    try:
        platforms, left_out = supervisor.collector_platforms(s)
    except SourcesError as exc:
        raise CommandError(str(exc)) from None
    if left_out:
        _say(f"warning: {left_out}")
    ports = {s.broker_port: "TSUR_BROKER_PORT"}
    ports.update({s.worker_web_port + i: "TSUR_WORKER_WEB_PORT" for i in range(args.workers)})
    ports.update({s.collector_port + i: "TSUR_COLLECTOR_PORT" for i, p in enumerate(supervisor.COLLECTOR_PLATFORMS) if p in platforms})
    if not args.no_airflow:
        ports[s.airflow_port] = "TSUR_AIRFLOW_PORT"
    if not args.no_dashboard:
        ports[s.api_port] = "TSUR_API_PORT"
    for port, var in ports.items():
        if processes.port_open("127.0.0.1", port):
            raise CommandError(f"port {port} is already in use; stop what listens there or change {var}")
    argv = [sys.executable, "-m", supervisor.SUPERVISOR_MODULE, "--workers", str(args.workers)]
    argv += ["--no-airflow"] * args.no_airflow + ["--no-dashboard"] * args.no_dashboard
    supervisor.state_path(s).unlink(missing_ok=True)
    child = processes.start("supervisor", argv, s.logs_dir, cwd=None)
    _say(f"starting tsur (supervisor pid {child.proc.pid}; logs in {s.logs_dir}) …")
    deadline, last = time.monotonic() + args.wait, 0.0
    state = None
    while time.monotonic() < deadline:
        if not child.alive():
            raise CommandError(f"the supervisor stopped; see {child.log_path}:\n{child.tail(15)}")
        state = supervisor.read_state(s)
        if state and state["phase"] == "running" and all(c["status"] == "healthy" for c in state["components"]):
            break
        if time.monotonic() - last > 10 and state:
            waiting = [c["name"] for c in state["components"] if c["status"] != "healthy"]
            _say(f"   … waiting for {', '.join(waiting)}")
            last = time.monotonic()
        time.sleep(1.0)
    else:
        if state:
            print(_status_table(state))
        raise CommandError(f"not every component became healthy within {args.wait} s (it keeps trying; `tsur status`, `tsur down`)")
    print(_status_table(state))
    _say("tsur is up: DAGs run on their schedules; `tsur status` shows health, `tsur down` stops everything")
    return 0


def _say_broker(state: dict) -> None:
    """The durable broker's disk and backlog as the supervisor last measured them (tsur/broker_retention.py)."""
    b = state.get("broker")
    if b:
        waiting = ", ".join(f"{t} {n}" for t, n in (b.get("backlog") or {}).items()) or "-"
        _say(f"broker storage {b['storage']}: {b['kept_mb']} MB kept ({b['unconsumed_mb']} MB not consumed yet); "
             f"messages waiting for the worker: {waiting}")


def cmd_status(args) -> int:
    from tsur import supervisor

    s = _settings()
    pid = supervisor.supervisor_pid(s)
    state = supervisor.read_state(s)
    if not pid:
        _say(f"tsur is not running (data dir {s.data_dir}); start it with `tsur up`")
        return 3
    if args.json:
        print(json.dumps({**(state or {}), "collected_sources": _collector_sources(s)}, ensure_ascii=False, indent=1))
    elif state:
        _say(f"supervisor pid {pid}, phase {state['phase']}, up since {state['started_at'][:19]} UTC, updated {state['updated_at'][11:19]}")
        print(_status_table(state))
        _say_broker(state)
        table = _collector_table(s)
        if table:
            print(table)
    healthy = bool(state) and all(c["status"] == "healthy" for c in state["components"])
    return 0 if healthy else 1


def cmd_down(args) -> int:
    import signal

    from tsur import supervisor

    s = _settings()
    pid = supervisor.supervisor_pid(s)
    state = supervisor.read_state(s) or {"components": []}
    if not pid:
        _say("tsur is not running")
        return 0
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    _say(f"stopping tsur (supervisor pid {pid}) …")
    while time.monotonic() - t0 < args.timeout and supervisor.supervisor_pid(s):
        time.sleep(0.3)
    leftovers = 0
    if supervisor.supervisor_pid(s):      # the supervisor itself hangs: end what it started, by PID
        os.kill(pid, signal.SIGKILL)
        for c in state["components"]:
            if c.get("pid"):
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(c["pid"], sig)
                        leftovers += 1
                        time.sleep(2)
                    except ProcessLookupError:
                        break
        supervisor.pid_path(s).unlink(missing_ok=True)
    _say(f"stopped in {time.monotonic() - t0:.1f} s" + (f" ({leftovers} process groups killed by PID)" if leftovers else ""))
    return 0


# ---------------------------------------------------------------- dashboard / API (api/, docs/dashboard.md)
def cmd_dashboard(args) -> int:
    import uvicorn

    from api.app import create_app
    from tsur import processes
    from tsur.config import check_host

    s = _settings()
    host = check_host(args.host, "--host") if args.host else s.api_host
    port = args.port or s.api_port
    if not 1 <= port <= 65535:
        raise CommandError(f"--port {port} is not a TCP port (1..65535)")
    if processes.port_open("127.0.0.1" if host in ("0.0.0.0", "::") else host, port):
        raise CommandError(f"port {port} on {host} is already in use; stop what listens there or use --port / TSUR_API_PORT")
    _migrate_quietly(s)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    _say(f"dashboard: {url}/  (Open311: {url}/open311/v2/services.json, OpenAPI: {url}/openapi.json); Ctrl+C stops it")
    if host not in ("127.0.0.1", "::1", "localhost"):
        _say(f"warning: listening on {host}, not only this machine; writes need API keys, reads "
             f"{'need a read key' if s.api_read_key else 'are open (set TSUR_API_READ_KEY=on to require a key)'}")
    uvicorn.run(create_app(s), host=host, port=port, log_level=args.log_level, access_log=args.log_level == "debug")
    return 0


def cmd_api_key(args) -> int:
    from api import keys
    from warehouse.session import warehouse_session

    s = _settings()
    _migrate_quietly(s)
    with warehouse_session(s.clickhouse_dsn, s.warehouse_lock_timeout) as client:
        if args.action == "create":
            try:
                key_id, key = keys.create(client, args.organisation, args.scope)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            _say(key)
            print(f"created {args.scope} key {key_id} for {args.organisation.strip()}; it is shown only now, "
                  f"store it safely (send it in the X-API-Key header)", file=sys.stderr)
        elif args.action == "list":
            for key_id, org, scope, created, revoked in keys.listing(client):
                _say(f"{key_id}  {scope:<5}  {created:%Y-%m-%d %H:%M}  {'revoked ' + f'{revoked:%Y-%m-%d}' if revoked else 'active':<18}  {org}")
        elif not keys.revoke(client, args.key_id):
            raise CommandError(f"no API key {args.key_id}; `tsur api-key list` shows them")
        else:
            _say(f"revoked API key {args.key_id}")
    return 0


# ---------------------------------------------------------------- doctor
def cmd_doctor(args) -> int:
    from tsur.doctor import run_checks

    ok = run_checks(_settings(), _say)
    return 0 if ok else 1


# ---------------------------------------------------------------- demo
def cmd_demo(args) -> int:
    from tsur.demo import run_demo

    return run_demo(_settings(), days=args.days, per_day=args.per_day, seed=args.seed, region=args.region, say=_say)


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tsur",
        description="tsur: complaints from social media -> Faust -> ClickHouse -> Airflow reports. "
        "Configuration comes from TSUR_* environment variables (see README.md).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sp = sub.add_parser("demo", help="run the main job end to end on the embedded default",
                        description="Start the broker and a worker, replay sample posts, run the DAGs, print row counts and where results are.")
    sp.add_argument("--days", type=int, default=3, help="sample days (default 3)")
    sp.add_argument("--per-day", type=int, default=300, help="posts per day (default 300)")
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument("--region", default="Краснодарский край")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("migrate", help="apply sql/migrations to the warehouse (idempotent)",
                        description="Apply pending numbered migrations from sql/migrations to TSUR_CLICKHOUSE_DSN.")
    sp.set_defaults(func=cmd_migrate)

    sp = sub.add_parser("cluster-ddl", help="print the schema for a ClickHouse cluster (sharded, replicated, ON CLUSTER)",
                        description="Print the cluster version of sql/migrations for clickhouse-client --multiquery: fact tables "
                        "as Replicated*MergeTree <t>_local + Distributed <t>, small tables replicated to every node, views and "
                        "materialised views ON CLUSTER, table rebuilds (EXCHANGE TABLES, DROP … SYNC) ON CLUSTER, ledger rows; "
                        "docs/cluster.md.")
    sp.add_argument("--cluster", default="{cluster}", help="cluster name in remote_servers (default: the {cluster} macro)")
    sp.add_argument("--database", default="default", help="database the tables live in (default: default)")
    sp.add_argument("--after", type=int, default=0, metavar="VERSION",
                    help="only the migrations numbered above VERSION (the newest in the cluster's tsur_schema_migrations)")
    sp.set_defaults(func=cmd_cluster_ddl)

    sp = sub.add_parser("broker", help="run the local Kafka-protocol broker (Tansu) on 127.0.0.1",
                        description="Run Tansu on 127.0.0.1:TSUR_BROKER_PORT in the foreground and pre-create the topics. "
                                    "Storage TSUR_BROKER_STORAGE: s3 (default, durable: localbucket on 127.0.0.1:TSUR_BROKER_S3_PORT, "
                                    "files under <data dir>/broker) or memory (lost when the broker stops).")
    sp.set_defaults(func=cmd_broker)

    sp = sub.add_parser("worker", help="run the Faust stream worker",
                        description="Run the Faust worker (streams.app) against TSUR_BROKER_URL, writing to TSUR_CLICKHOUSE_DSN.")
    sp.add_argument("--web-port", type=int, help="Faust web port (default TSUR_WORKER_WEB_PORT); distinct per worker on one host")
    sp.set_defaults(func=cmd_worker)

    sp = sub.add_parser("sample", help="write a reproducible sample stream (JSONL)",
                        description="Write sample posts in our plain JSON schema (docs/post-schema.md).")
    sp.add_argument("--region", default="Краснодарский край")
    sp.add_argument("--days", type=int, default=14)
    sp.add_argument("--per-day", type=int, default=300)
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument("--end", help="last day (YYYY-MM-DD); default yesterday (Moscow)")
    sp.add_argument("--out", default="-", help="output file, '-' for stdout")
    sp.set_defaults(func=cmd_sample)

    sp = sub.add_parser("ingest", help="publish posts from a JSONL/CSV file to posts.raw",
                        description="Replay posts into posts.raw, as fast as possible or at --rate posts/s: JSONL/CSV in our plain schema "
                        "(docs/post-schema.md), a VK API response or a Telegram Desktop export (.json).")
    sp.add_argument("file", help="JSONL or CSV file, '-' for JSONL on stdin")
    sp.add_argument("--rate", type=float, help="posts per second (default: as fast as possible)")
    sp.add_argument("--format", choices=["auto", "plain", "vk", "telegram"], default="auto",
                    help="a .json document's format: VK API wall.get/newsfeed.search, Telegram Desktop result.json, "
                    "or our plain schema (default: detected); .jsonl and .csv are our plain schema")
    sp.set_defaults(func=cmd_ingest)

    sp = sub.add_parser("collect", help="poll VK, Telegram and OK sources and publish new posts to posts.raw",
                        description="Poll the source registry (TSUR_SOURCES, default <data dir>/sources.yaml; docs/intake.md): "
                                    "VK walls with their comments and VK searches (TSUR_VK_TOKEN), Telegram public channels "
                                    "(web preview), an account's chats (TSUR_TELEGRAM_API_ID/_API_HASH, `tsur telegram-login`) "
                                    "and the bot's chats (TSUR_TELEGRAM_BOT_TOKEN), OK groups (TSUR_OK_APP_KEY, "
                                    "TSUR_OK_APP_SECRET, TSUR_OK_TOKEN). Sources without their credentials are left out "
                                    "with a warning. Resumes from what the warehouse stored; runs until stopped.")
    sp.add_argument("--sources", help="the registry file (default TSUR_SOURCES or <data dir>/sources.yaml)")
    sp.add_argument("--platform", choices=["vk", "telegram", "ok"], help="only this platform's sources")
    sp.add_argument("--once", action="store_true",
                    help="read every source up to now, wait until the worker stored it, then exit (1 if something was not stored)")
    sp.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1:PORT/metrics")
    sp.set_defaults(func=cmd_collect)
    sp = sub.add_parser("telegram-login", help="authorise the Telegram account the collector reads chats with (MTProto)",
                        description="Log in once, interactively (phone number, the code Telegram sends, the 2FA password if set), "
                                    "with TSUR_TELEGRAM_API_ID and TSUR_TELEGRAM_API_HASH; the session is kept in "
                                    "<data dir>/secrets/telegram-account.session for telegram.account sources (docs/intake.md).")
    sp.set_defaults(func=cmd_telegram_login)
    sp = sub.add_parser("train-sectors", help="train the sector and complaint models from the labelled corpus",
                        description="Train the 'what' models reproducibly from nlp/corpus (training split only), print accuracy, "
                        "macro-F1 and the confusion matrix on the held-out split, and save nlp/models/what.json + what.npz (JSON and arrays, no pickle).")
    sp.add_argument("--dry-run", action="store_true", help="evaluate only; do not overwrite the saved model")
    sp.add_argument("--with-corrections", action="store_true",
                    help="add the operators' sector corrections stored in the warehouse (texts of the corrected incidents' "
                         "posts) to the training data; the model goes to the centre's own artefact (TSUR_SECTOR_MODEL, "
                         "default <data dir>/models/what.json)")
    sp.add_argument("--days", type=int, default=365, help="with --with-corrections: corrections of the last N days (default 365)")
    sp.add_argument("--out", help="where to write the artefact (.json; the arrays go beside it as .npz)")
    sp.add_argument("--publish-if-better", action="store_true",
                    help=f"write the artefact only if it scores no worse than the deployed model on the held-out split and "
                         f"every --eval set; otherwise exit {REFUSED}")
    sp.add_argument("--eval", action="append", metavar="FILE",
                    help="also score a labelled JSONL set ({text, sector} a line; e.g. your centre's own checked messages): "
                         "accuracy, macro-F1, recall per sector, the needs_review split; repeatable")
    sp.set_defaults(func=cmd_train_sectors)

    sp = sub.add_parser("enrich", help="enrich posts (JSONL in, JSONL out): sector, complaint, urgency, place",
                        description="Read JSONL lines {id, text, [region_hint, place_hint, community, geo, created_at, source]} "
                        "and write one JSONL line per input line, same order, with id, sector, sector_confidence, complaint_score, "
                        "urgency, region, municipality, settlement, oktmo, lat, lon, h3, place_confidence (null when unknown).")
    sp.add_argument("file", help="JSONL file, '-' for stdin")
    sp.add_argument("--out", default="-", help="output JSONL file, '-' for stdout")
    sp.add_argument("--h3-resolution", type=int, default=8, choices=range(0, 16), metavar="0..15", help="H3 resolution (default 8)")
    sp.set_defaults(func=cmd_enrich)

    sp = sub.add_parser("incident", help="operator actions on incidents (status updates)",
                        description="Operator actions on incidents.")
    isub = sp.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = isub.add_parser("update", help="send a status update or a sector correction to incidents.status",
                         description="Validate a status update and send it to incidents.status; the worker stores it. "
                         "With --sector it corrects the incident's sector: the worker re-routes the incident (responsible "
                         "body, deadlines) and the correction becomes a labelled example for `tsur train-sectors --with-corrections`.")
    up.add_argument("incident_id")
    up.add_argument("--status", choices=["assigned", "answered", "in_progress", "resolved", "rejected", "reopened"],
                    help="the new status (default with --sector: assigned)")
    up.add_argument("--sector", choices=list(SECTORS), help="the incident's correct sector")
    up.add_argument("--actor", default="оператор ЦУР")
    up.add_argument("--comment", default="")
    up.add_argument("--at", help="ISO 8601 time of the change (default: now)")
    up.set_defaults(func=cmd_incident_update)

    sp = sub.add_parser("simulate-operators", help="send simulated operator status events for stored incidents (demo)",
                        description="Read incidents from the warehouse and send assigned/answered/resolved events with realistic delays.")
    sp.add_argument("--seed", type=int, default=1)
    sp.set_defaults(func=cmd_simulate_operators)

    sp = sub.add_parser("query", help="run read-only SQL against the warehouse",
                        description="Run one read-only SQL statement against TSUR_CLICKHOUSE_DSN and print a table or CSV.")
    sp.add_argument("sql")
    sp.add_argument("--format", choices=["table", "csv"], default="table")
    sp.set_defaults(func=cmd_query)

    sp = sub.add_parser("doctor", help="check every component and say what is wrong",
                        description="Check configuration, broker, warehouse, migrations, the collectors' sources, "
                                    "the alert channels (missing-person fast lane) and Airflow DAG imports.")
    sp.set_defaults(func=cmd_doctor)

    sp = sub.add_parser("run-dags", help="run DAGs for logical dates (dag.test) in one Airflow process",
                        description="Run the given DAGs (comma-separated ids) for each logical date YYYY-MM-DD with dag.test(), "
                        "in one Airflow process; the way to re-run or backfill days on the embedded default.")
    sp.add_argument("dags", help="e.g. heatmap_daily,sla_daily,regional_rollup")
    sp.add_argument("dates", nargs="+", help="logical dates (the report days), YYYY-MM-DD")
    sp.add_argument("--prepare", action="store_true", help="migrate the Airflow metadata DB and create the chdb pool first")
    sp.set_defaults(func=cmd_run_dags)

    sp = sub.add_parser("up", help="start the whole stack, supervised (broker, workers, Airflow, dashboard)",
                        description="Start the broker, the Faust worker(s), Airflow (scheduler, dag-processor, triggerer, api-server "
                        "with the UI on 127.0.0.1:TSUR_AIRFLOW_PORT) and the dashboard under a supervisor that restarts what "
                        "crashes; waits until all are healthy. Logs: <data dir>/logs. docs/operations.md.")
    sp.add_argument("--workers", type=int, default=1, choices=range(1, 9), metavar="N", help="Faust workers (1..8, default 1)")
    sp.add_argument("--no-airflow", action="store_true", help="do not start Airflow")
    sp.add_argument("--no-dashboard", action="store_true", help="do not start the dashboard")
    sp.add_argument("--wait", type=float, default=300, help="seconds to wait for everything to be healthy (default 300)")
    sp.set_defaults(func=cmd_up)

    sp = sub.add_parser("status", help="health of the supervised stack (exit 0 healthy, 1 not, 3 not running)",
                        description="Show each component of `tsur up`: status, PID, restarts, URL or problem.")
    sp.add_argument("--json", action="store_true", help="print the supervisor's state as JSON")
    sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("down", help="stop the supervised stack",
                        description="Stop everything `tsur up` started: SIGTERM to the supervisor, which stops each component "
                        "(SIGTERM, then SIGKILL); if it does not finish within --timeout, its components are killed by PID.")
    sp.add_argument("--timeout", type=float, default=90, help="seconds before killing by PID (default 90)")
    sp.set_defaults(func=cmd_down)

    sp = sub.add_parser("dashboard", help="serve the built-in dashboard and the Open311 API (127.0.0.1 by default)",
                        description="Serve the dashboard (map, new incidents, SLA, alerts) at / and Open311 GeoReport v2 at /open311/v2 "
                        "with uvicorn; docs/dashboard.md.")
    sp.add_argument("--host", help="address to bind (default TSUR_API_HOST, 127.0.0.1)")
    sp.add_argument("--port", type=int, help="port (default TSUR_API_PORT, 8311)")
    sp.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"], default="warning")
    sp.set_defaults(func=cmd_dashboard)

    sp = sub.add_parser("api-key", help="create, list or revoke Open311 API keys (stored hashed)",
                        description="API keys per organisation for the Open311 API; only their SHA-256 is stored (table api_keys).")
    ksub = sp.add_subparsers(dest="action", required=True, metavar="ACTION")
    kp = ksub.add_parser("create", help="create a key and print it once", description="Create a key for ORGANISATION and print it once.")
    kp.add_argument("organisation")
    kp.add_argument("--scope", choices=["read", "write"], default="read", help="read: GET only; write: also new requests and status updates")
    ksub.add_parser("list", help="list keys (id, scope, created, revoked, organisation)")
    kp = ksub.add_parser("revoke", help="revoke a key by its id")
    kp.add_argument("key_id")
    sp.set_defaults(func=cmd_api_key)

    sp = sub.add_parser("airflow", help="run the airflow CLI with tsur's environment",
                        description="Pass the arguments to `airflow` in the Airflow virtualenv with AIRFLOW_HOME, the dags folder and the warehouse connection set.")
    sp.add_argument("args", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_airflow)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from warehouse.migrations import MigrationError
    from warehouse.session import WarehouseError

    try:
        return args.func(args) or 0
    except ConfigError as exc:
        print(f"tsur: configuration error: {exc}", file=sys.stderr)
        return 2
    except (CommandError, WarehouseError, MigrationError, FileNotFoundError) as exc:
        print(f"tsur: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
