"""``tsur doctor``: check each component and say in words what is wrong and how to fix it."""
from __future__ import annotations

import json
import subprocess

from tsur.config import PROJECT_ROOT, Settings

OK, WARN, FAIL = "ok  ", "warn", "FAIL"


def _check_broker(s: Settings, explicit_url: bool) -> tuple[str, str]:
    from tsur.processes import port_open

    host, _, port = s.bootstrap_servers[0].rpartition(":")
    if not port_open(host, int(port)):
        if not explicit_url:   # the embedded default: a broker that is not started is a state, not a fault
            return WARN, f"the local broker is not running on {host}:{port}; `tsur broker` starts it (`tsur demo` starts its own)"
        return FAIL, f"broker at {s.broker_url} is not reachable; check TSUR_BROKER_URL and that the broker is up"
    try:
        import asyncio

        from aiokafka.admin import AIOKafkaAdminClient

        async def topics():
            admin = AIOKafkaAdminClient(bootstrap_servers=s.bootstrap_servers, request_timeout_ms=5000)
            await asyncio.wait_for(admin.start(), 5)
            try:
                return set(await admin.list_topics())
            finally:
                await admin.close()

        existing = asyncio.run(topics())
    except Exception as exc:
        return FAIL, f"broker at {s.broker_url} does not answer Kafka requests ({type(exc).__name__})"
    missing = sorted(set(s.topics.values()) - existing)
    if missing:
        return WARN, f"broker reachable, topics missing: {', '.join(missing)}; `tsur broker` or the worker creates them"
    return OK, f"broker reachable at {s.broker_url}, all {len(s.topics)} topics exist"


def _check_warehouse(s: Settings) -> list[tuple[str, str, str]]:
    from warehouse.migrations import MigrationError, pending
    from warehouse.session import WarehouseError, redact, warehouse_session

    out = []
    try:
        with warehouse_session(s.clickhouse_dsn, min(s.warehouse_lock_timeout, 30)) as client:
            version = client.query("SELECT version()").result_rows[0][0]
            out.append(("warehouse", OK, f"opens: {redact(s.clickhouse_dsn)} (ClickHouse {version})"))
            try:
                todo = pending(client)
                if todo:
                    out.append(("migrations", FAIL, f"{len(todo)} pending ({', '.join(m.path.name for m in todo)}); run `tsur migrate`"))
                else:
                    out.append(("migrations", OK, "all applied"))
            except MigrationError as exc:
                out.append(("migrations", FAIL, str(exc)))
    except WarehouseError as exc:
        out.append(("warehouse", FAIL, str(exc)))
    return out


DAG_CHECK = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dags": sorted(bag.dag_ids), "errors": {k: v.strip().splitlines()[-1] for k, v in bag.import_errors.items()}}))
"""


def _check_airflow(s: Settings) -> tuple[str, str]:
    from tsur.airflow_env import airflow_env, airflow_venv

    python = airflow_venv() / "bin" / "python"
    if not python.exists():
        return FAIL, f"Airflow virtualenv missing at {airflow_venv()}; run `make install`"
    try:
        r = subprocess.run([str(python), "-c", DAG_CHECK, str(PROJECT_ROOT / "dags")], env=airflow_env(s),
                           capture_output=True, text=True, timeout=180)
        data = json.loads(r.stdout.strip().splitlines()[-1])
    except Exception as exc:
        return FAIL, f"could not load the DAGs with Airflow ({type(exc).__name__}); run `tsur airflow dags list-import-errors`"
    if data["errors"]:
        first = next(iter(data["errors"].items()))
        return FAIL, f"{len(data['errors'])} DAG file(s) fail to import, e.g. {first[0]}: {first[1]}"
    return OK, f"{len(data['dags'])} DAGs import cleanly: {', '.join(data['dags'])}"


def _check_collectors(s: Settings) -> list[tuple[str, str, str]]:
    """The source registry, the VK token and whether the platforms answer (a closed network is a
    warning: the collectors retry)."""
    import httpx

    from intake.sources import SourcesError, load_sources

    if not s.sources_path.exists():
        return [("collectors", WARN, f"no source registry at {s.sources_path}: live intake is off (docs/intake.md; TSUR_SOURCES)")]
    try:
        registry = load_sources(s.sources_path)
    except SourcesError as exc:
        return [("collectors", FAIL, str(exc).replace("\n", "; "))]
    platforms = sorted({src.platform for src in registry.sources})
    out = [("collectors", OK, f"{len(registry.sources)} sources in {s.sources_path} ({', '.join(platforms)})")]
    if "vk" in platforms:
        if not s.vk_token:
            out.append(("vk", FAIL, "VK sources are listed but TSUR_VK_TOKEN is not set; set it (docs/intake.md, Credentials)"))
        else:
            try:
                r = httpx.post(f"{s.vk_api_url}/utils.getServerTime", data={"access_token": s.vk_token, "v": "5.199"}, timeout=5)
                err = r.json().get("error") if r.status_code < 400 else {"error_code": r.status_code, "error_msg": "HTTP error"}
            except (httpx.HTTPError, ValueError) as exc:
                out.append(("vk", WARN, f"{s.vk_api_url} not reachable ({type(exc).__name__}; a closed network?): the collector retries"))
            else:
                if not err:
                    out.append(("vk", OK, f"{s.vk_api_url} answers and accepts the token"))
                elif err.get("error_code") == 5:
                    out.append(("vk", FAIL, f"VK rejects TSUR_VK_TOKEN ({err.get('error_msg', '')[:80]}); issue a new token"))
                else:
                    out.append(("vk", WARN, f"VK answered error {err.get('error_code')}: {str(err.get('error_msg', ''))[:80]}"))
    if "ok" in platforms:
        missing = [n for n, v in (("TSUR_OK_APP_KEY", s.ok_app_key), ("TSUR_OK_APP_SECRET", s.ok_app_secret),
                                  ("TSUR_OK_TOKEN", s.ok_token)) if not v]
        if missing:
            out.append(("ok", FAIL, f"OK groups are listed but {', '.join(missing)} not set (docs/intake.md, Credentials)"))
        else:
            try:
                httpx.post(s.ok_api_url, data={"method": "users.getCurrentUser", "format": "json"}, timeout=5)
                out.append(("ok", OK, f"{s.ok_api_url} answers; the keys are checked by the first poll"))
            except httpx.HTTPError as exc:
                out.append(("ok", WARN, f"{s.ok_api_url} not reachable ({type(exc).__name__}; a closed network?): the collector retries"))
    if "telegram" in platforms:
        try:
            r = httpx.get(f"{s.telegram_web_url}/s/{registry.for_platform('telegram')[0].handle}", timeout=5)
            out.append(("telegram", OK if r.status_code < 400 else WARN, f"{s.telegram_web_url} answers (HTTP {r.status_code})"))
        except httpx.HTTPError as exc:
            out.append(("telegram", WARN, f"{s.telegram_web_url} not reachable ({type(exc).__name__}; a closed network?): the collector retries"))
    return out


def _check_alert_channels(s: Settings) -> tuple[str, str]:
    """Where the worker delivers alerts (the missing-person fast lane; docs/quality-control.md)."""
    from streams.notify import Channels

    names = Channels.from_settings(s).names()
    if s.notify_emails and not s.notify_smtp_host:
        return FAIL, "TSUR_NOTIFY_EMAILS is set but TSUR_NOTIFY_SMTP_HOST is not: alerts cannot be e-mailed"
    if s.notify_telegram_chat and not s.telegram_bot_token:
        return FAIL, "TSUR_NOTIFY_TELEGRAM_CHAT is set but TSUR_TELEGRAM_BOT_TOKEN is not: alerts cannot reach the chat"
    if not names:
        return WARN, ("no alert channel: missing-person alerts are stored and shown on the dashboard only; set "
                      "TSUR_NOTIFY_WEBHOOK_URL, TSUR_NOTIFY_EMAILS + TSUR_NOTIFY_SMTP_HOST or TSUR_NOTIFY_TELEGRAM_CHAT")
    return OK, f"{', '.join(s.notify_kinds)} alerts go to: {', '.join(names)}"


def run_checks(s: Settings, say=print) -> bool:
    import os

    from tsur.broker import describe_storage

    results = [("config", OK, f"data dir {s.data_dir}")]
    status, msg = _check_broker(s, bool(os.environ.get("TSUR_BROKER_URL")))
    results.append(("broker", status, msg))
    if s.broker_url.startswith("kafka://127.0.0.1"):
        results.append(("durability", OK if s.broker_storage == "s3" else WARN,
                        f"local broker {describe_storage(s)}; use Kafka/Redpanda with replication in production (docs/broker.md)"))
    results.extend(_check_warehouse(s))
    results.extend(_check_collectors(s))
    results.append(("alerts", *_check_alert_channels(s)))
    status, msg = _check_airflow(s)
    results.append(("airflow", status, msg))
    for name, status, msg in results:
        say(f"[{status}] {name:<11} {msg}")
    return all(status != FAIL for _, status, _ in results)
