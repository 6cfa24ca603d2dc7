"""The whole embedded stack as supervised processes: ``tsur up`` / ``tsur status`` / ``tsur down``.

The supervisor (``python -m tsur.supervisor``, started detached by ``tsur up``) starts, in order:
the broker (Tansu) and its topics, the warehouse schema, N Faust workers, Airflow (metadata DB,
scheduler, dag-processor, triggerer, api-server with the UI on 127.0.0.1) and the built-in
dashboard. It checks their health every few seconds, restarts a component that exits (backoff
1 s → 60 s; given up after 5 restarts in 10 minutes), and on SIGTERM stops them in reverse order,
each by process group, SIGTERM then SIGKILL after a timeout (Airflow's own shutdown can hang).

Every component logs to ``<data dir>/logs/<name>.log``; the supervisor's view of them is in
``<data dir>/run/state.json`` (what ``tsur status`` prints), its PID in ``run/supervisor.pid``.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tsur import processes
from tsur.broker_retention import TRIM_EVERY_S
from tsur.config import PROJECT_ROOT, Settings

STOP_TIMEOUT = 20.0
COLLECTOR_PLATFORMS = ("vk", "telegram", "ok")     # metrics on TSUR_COLLECTOR_PORT + their index
MAX_RESTARTS, RESTART_WINDOW = 5, 600.0
SUPERVISOR_MODULE = "tsur.supervisor"           # `python -m tsur.supervisor`, as `tsur up` starts it


def run_dir(s: Settings) -> Path:
    return s.data_dir / "run"


def state_path(s: Settings) -> Path:
    return run_dir(s) / "state.json"


def pid_path(s: Settings) -> Path:
    return run_dir(s) / "supervisor.pid"


def read_state(s: Settings) -> dict | None:
    try:
        return json.loads(state_path(s).read_text())
    except (OSError, ValueError):
        return None


def supervisor_pid(s: Settings) -> int | None:
    """The PID of a running supervisor for this data dir, or None. A PID file left by a supervisor
    killed with SIGKILL names a zombie or, later, someone else: neither counts."""
    try:
        pid = int(pid_path(s).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if processes.running(pid, SUPERVISOR_MODULE) else None


def _http_ok(url: str, timeout: float = 3.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return 200 <= r.status < 300, r.read(20000).decode("utf-8", "replace")
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"[:200]


@dataclass
class Component:
    name: str
    argv: list[str]
    env: dict
    health: Callable[[], str | None]          # None when healthy, else what is wrong
    url: str = ""
    child: processes.Child | None = None
    restarts: list[float] = field(default_factory=list)
    next_start: float = 0.0
    failed: bool = False
    status: str = "starting"
    problem: str = ""
    started_at: float = 0.0

    def start(self, logs: Path) -> None:
        self.child = processes.start(self.name, self.argv, logs, env=self.env, cwd=PROJECT_ROOT)
        self.started_at = time.monotonic()
        self.status, self.problem = "starting", ""


def _secret(s: Settings, name: str) -> str:
    """A random secret kept in <data dir>/secrets (mode 0600), made on first use."""
    path = s.data_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def local_airflow_env(s: Settings) -> dict:
    """Airflow's environment for the long-running components: the api-server on 127.0.0.1, one JWT
    secret shared by all of them (tasks authenticate to the execution API with it), every local
    user an admin of the UI (it listens on this machine only)."""
    from tsur.airflow_env import airflow_env

    env = airflow_env(s)
    env.setdefault("AIRFLOW__API__HOST", "127.0.0.1")
    env.setdefault("AIRFLOW__API__PORT", str(s.airflow_port))
    env.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://127.0.0.1:{s.airflow_port}/execution/")
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", _secret(s, "airflow-jwt.key"))
    env.setdefault("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    env.setdefault("AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC", "5")
    env.setdefault("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "30")
    return env


def components(s: Settings, workers: int, airflow: bool, dashboard: bool) -> list[Component]:
    from tsur.airflow_env import airflow_bin
    from tsur.broker import broker_argv, broker_env, s3_server_argv

    env = dict(os.environ)
    out = []
    if s.broker_storage == "s3":    # the durable broker's S3 server first: the broker writes to it
        out.append(Component("broker-s3", s3_server_argv(s), env,
                             lambda: None if processes.port_open("127.0.0.1", s.broker_s3_port) else f"port {s.broker_s3_port} closed"))
    out.append(Component("broker", broker_argv(s), broker_env(s, env),
                         lambda: None if processes.port_open("127.0.0.1", s.broker_port) else f"port {s.broker_port} closed"))
    for i in range(workers):
        port = s.worker_web_port + i
        name = "worker" if workers == 1 else f"worker-{i + 1}"
        out.append(Component(name, processes.worker_argv(["--web-port", str(port)]),
                             {**env, "TSUR_WORKER_WEB_PORT": str(port)},
                             _worker_health(port), url=f"http://127.0.0.1:{port}/metrics"))
    if airflow:
        aenv = local_airflow_env(s)
        binary = str(airflow_bin())
        base = f"http://127.0.0.1:{s.airflow_port}"
        health = _airflow_health(f"{base}/api/v2/monitor/health")
        out.append(Component("airflow-api-server", [binary, "api-server", "--host", "127.0.0.1", "--port", str(s.airflow_port),
                                                    "--workers", "1"], aenv, health("metadatabase"), url=base))
        out.append(Component("airflow-scheduler", [binary, "scheduler"], aenv, health("scheduler")))
        out.append(Component("airflow-dag-processor", [binary, "dag-processor"], aenv, health("dag_processor")))
        out.append(Component("airflow-triggerer", [binary, "triggerer"], aenv, health("triggerer")))
    out += collector_components(s, env)
    if dashboard:
        url = f"http://127.0.0.1:{s.api_port}"
        out.append(Component("dashboard", [sys.executable, "-m", "tsur.cli", "dashboard", "--host", "127.0.0.1",
                                           "--port", str(s.api_port)], env,
                             lambda: None if _http_ok(f"{url}/")[0] else "not answering", url=url + "/"))
    return out


def collector_platforms(s: Settings) -> tuple[list[str], str]:
    """The platforms `tsur up` runs a collector for (from the source registry, if there is one) and,
    when one is left out, why."""
    from intake.sources import load_sources

    if not s.sources_path.exists():
        return [], ""
    from intake.collector import endpoints_of, missing_credentials

    registry = load_sources(s.sources_path)          # validated by `tsur up` before the supervisor starts
    missing = missing_credentials(endpoints_of(s))
    platforms = sorted({src.platform for src in registry.sources if src.needs not in missing})
    left_out = sorted({missing[src.needs] for src in registry.sources if src.needs in missing})
    return platforms, "; ".join(f"{m}: not collected" for m in left_out)


def collector_components(s: Settings, env: dict) -> list[Component]:
    platforms, _ = collector_platforms(s)
    out = []
    for i, platform in enumerate(COLLECTOR_PLATFORMS):
        if platform not in platforms:
            continue
        port = s.collector_port + i
        out.append(Component(f"collector-{platform}", [sys.executable, "-m", "tsur.cli", "collect", "--platform", platform,
                                                       "--metrics-port", str(port)], env,
                             _collector_health(s, platform, port), url=f"http://127.0.0.1:{port}/metrics"))
    return out


def _collector_health(s: Settings, platform: str, port: int):
    from intake.collector import state_file

    def check() -> str | None:
        ok, body = _http_ok(f"http://127.0.0.1:{port}/metrics")
        if not ok:
            return f"/metrics not answering ({body[:80]})"
        try:
            sources = json.loads(state_file(s, platform).read_text()).get("sources", [])
        except (OSError, ValueError):
            return None
        stopped = [x for x in sources if x.get("status") == "stopped"]
        return f"{len(stopped)} source(s) stopped: {stopped[0]['problem']}" if stopped else None
    return check


def _worker_health(port: int):
    def check() -> str | None:
        ok, body = _http_ok(f"http://127.0.0.1:{port}/metrics")
        return None if ok else f"/metrics not answering ({body[:80]})"
    return check


def _airflow_health(url: str):
    """Airflow 3's /api/v2/monitor/health reports metadatabase, scheduler, triggerer, dag_processor."""
    def for_part(part: str):
        def check() -> str | None:
            ok, body = _http_ok(url)
            if not ok:
                return f"api-server not answering ({body[:80]})"
            try:
                status = json.loads(body).get(part, {}).get("status")
            except ValueError:
                return "api-server answered without JSON"
            return None if status == "healthy" else f"{part}: {status or 'no heartbeat yet'}"
        return check
    return for_part


class Supervisor:
    def __init__(self, s: Settings, workers: int = 1, airflow: bool = True, dashboard: bool = True, say=print):
        self.s = s
        self.say = say
        self.parts = components(s, workers, airflow, dashboard)
        self.airflow = airflow
        self.stopping = False
        self.started_at = datetime.now(timezone.utc).isoformat()
        self.broker_state: dict | None = None      # retention and backlog of the durable broker

    # -- state --------------------------------------------------------------------------------
    def write_state(self, phase: str) -> None:
        run_dir(self.s).mkdir(parents=True, exist_ok=True)
        state = {"supervisor_pid": os.getpid(), "phase": phase, "started_at": self.started_at,
                 "updated_at": datetime.now(timezone.utc).isoformat(), "data_dir": str(self.s.data_dir),
                 "components": [{"name": c.name, "pid": c.child.proc.pid if c.child else None, "status": c.status,
                                 "problem": c.problem, "restarts": len(c.restarts), "url": c.url,
                                 "log": str(self.s.logs_dir / f"{c.name}.log")} for c in self.parts],
                 "broker": self.broker_state}
        tmp = state_path(self.s).with_suffix(".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1))
        tmp.replace(state_path(self.s))

    # -- life cycle ---------------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        run_dir(self.s).mkdir(parents=True, exist_ok=True)
        pid_path(self.s).write_text(str(os.getpid()))
        try:
            self.write_state("starting")
            self._prepare()
            last_health = last_trim = 0.0
            while not self.stopping:
                self._revive()
                if time.monotonic() - last_health > 3:
                    self._check_health()
                    last_health = time.monotonic()
                    self.write_state("running")
                if time.monotonic() - last_trim > TRIM_EVERY_S:
                    self._trim_broker()
                    last_trim = time.monotonic()
                time.sleep(0.5)
        finally:
            self.stop_all()
            self.write_state("stopped")
            pid_path(self.s).unlink(missing_ok=True)
        return 0

    def _trim_broker(self) -> None:
        """Bounded disk for the durable broker (tsur/broker_retention.py); never stops the supervisor."""
        from tsur.broker_retention import backlog, trim

        try:
            report = trim(self.s, log=self.say)
            self.broker_state = {"storage": self.s.broker_storage, "kept_mb": round(report.kept_bytes / 1e6, 1),
                                 "unconsumed_mb": round(report.unconsumed_bytes / 1e6, 1), "backlog": backlog(self.s)}
        except Exception as exc:    # a file removed under us, a full disk: report it, try again later
            self.say(f"broker retention failed: {type(exc).__name__}: {exc}")

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True

    def _prepare(self) -> None:
        from warehouse.migrations import migrate_with_retention

        infra = [c for c in self.parts if c.name in ("broker-s3", "broker")]
        for c in infra:         # each listening before the next starts
            self._start(c)
            deadline = time.monotonic() + 30
            while c.health() and time.monotonic() < deadline and not self.stopping:
                time.sleep(0.2)
        self._ensure_topics()
        migrate_with_retention(self.s.clickhouse_dsn, self.s.warehouse_lock_timeout, self.s.retention_days, log=self.say)
        if self.airflow:
            from tsur.airflow_env import prepare_metadata

            self.say("preparing Airflow's metadata DB …")
            prepare_metadata(self.s)
        for c in self.parts[len(infra):]:
            if self.stopping:
                return
            self._start(c)

    def _ensure_topics(self) -> None:
        from streams.topics import ensure_topics

        for _ in range(20):
            try:
                ensure_topics(self.s)
                return
            except Exception as exc:     # the broker is still starting
                last = exc
                time.sleep(0.5)
        self.say(f"cannot create topics: {last}")

    def _start(self, c: Component) -> None:
        self.say(f"starting {c.name}")
        c.start(self.s.logs_dir)
        self.write_state("starting")

    def _revive(self) -> None:
        now = time.monotonic()
        for c in self.parts:
            if c.failed or c.child is None or c.child.alive() or self.stopping:
                continue
            if c.next_start == 0.0:
                code = c.child.proc.returncode
                c.restarts = [t for t in c.restarts if now - t < RESTART_WINDOW]
                if len(c.restarts) >= MAX_RESTARTS:
                    c.failed, c.status = True, "failed"
                    c.problem = f"exited with {code} {MAX_RESTARTS} times in {RESTART_WINDOW / 60:.0f} min; see its log"
                    self.say(f"{c.name}: giving up ({c.problem})")
                    continue
                delay = min(60.0, 2.0 ** len(c.restarts))
                c.next_start = now + delay
                c.status, c.problem = "restarting", f"exited with {code}; restarting in {delay:.0f} s"
                self.say(f"{c.name} exited with {code}; restarting in {delay:.0f} s")
            elif now >= c.next_start:
                c.next_start = 0.0
                c.restarts.append(now)
                self._start(c)
                if c.name == "broker":      # a new memory broker has no topics (a durable one keeps them): ensure them
                    time.sleep(1.0)
                    self._ensure_topics()

    def _check_health(self) -> None:
        for c in self.parts:
            if c.child is None or c.failed or not c.child.alive():
                continue
            problem = c.health()
            c.status, c.problem = ("healthy", "") if problem is None else ("starting" if time.monotonic() - c.started_at < 120
                                                                          else "unhealthy", problem)

    def stop_all(self) -> None:
        for c in reversed(self.parts):
            if c.child is not None and c.child.alive():
                self.say(f"stopping {c.name}")
                c.child.stop(timeout=STOP_TIMEOUT)
            c.status = "stopped"


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="tsur's process supervisor (started by `tsur up`)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-airflow", action="store_true")
    ap.add_argument("--no-dashboard", action="store_true")
    args = ap.parse_args()
    s = Settings.from_env()
    say = lambda m: print(f"{datetime.now().strftime('%H:%M:%S')} {m}", flush=True)
    sys.exit(Supervisor(s, args.workers, not args.no_airflow, not args.no_dashboard, say).run())


if __name__ == "__main__":
    main()
