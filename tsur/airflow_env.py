"""Environment for the Airflow side (its own virtualenv, see README: Airflow 3.3 and
faust-streaming cannot share one). Embedded mode: SQLite metadata, LocalExecutor, small
parallelism, a one-slot pool for tasks that use the chDB store."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tsur.config import PROJECT_ROOT, Settings

CHDB_POOL = "chdb"


def airflow_venv() -> Path:
    return Path(os.environ.get("TSUR_AIRFLOW_VENV") or PROJECT_ROOT / ".venvs" / "airflow")


def airflow_bin() -> Path:
    return airflow_venv() / "bin" / "airflow"


def warehouse_connection(settings: Settings) -> str:
    """The Airflow connection (JSON form) for the official ClickHouseHook."""
    if settings.embedded_warehouse:
        return json.dumps({"conn_type": "clickhouse", "extra": {"client_kwargs": {"dsn": settings.clickhouse_dsn}}})
    from urllib.parse import urlparse

    u = urlparse(settings.clickhouse_dsn)
    return json.dumps({
        "conn_type": "clickhouse", "host": u.hostname, "port": u.port or (8443 if u.scheme == "https" else 8123),
        "login": u.username or "default", "password": u.password or "", "schema": (u.path or "/default").strip("/") or "default",
        "extra": {"secure": u.scheme == "https"},
    })


def airflow_env(settings: Settings, base: dict | None = None) -> dict:
    env = dict(os.environ if base is None else base)
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    env.setdefault("AIRFLOW_HOME", str(home))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    env.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
    env.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    env.setdefault("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(home / "logs"))
    env.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
    env.setdefault(f"AIRFLOW_CONN_{settings.airflow_conn_id.upper()}", warehouse_connection(settings))
    env.setdefault("TSUR_DATA_DIR", str(settings.data_dir))
    env.setdefault("TSUR_CLICKHOUSE_DSN", settings.clickhouse_dsn)
    env.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    return env


def run_airflow(settings: Settings, args: list[str], check: bool = True, capture: bool = False, timeout: float | None = None):
    binary = airflow_bin()
    if not binary.exists():
        raise FileNotFoundError(f"Airflow is not installed at {binary}; run `make install` (or set TSUR_AIRFLOW_VENV)")
    return subprocess.run(
        [str(binary), *args], env=airflow_env(settings), check=check, timeout=timeout,
        capture_output=capture, text=True,
    )


def prepare_metadata(settings: Settings) -> None:
    """Create/upgrade the metadata DB and the one-slot chDB pool (idempotent)."""
    run_airflow(settings, ["db", "migrate"], capture=True)
    run_airflow(settings, ["pools", "set", CHDB_POOL, "1", "tasks that open the embedded chDB store"], capture=True)


def run_dags(settings: Settings, dag_ids: list[str], days: list, say=print) -> bool:
    """Run DAGs for logical dates with dag.test() in one Airflow process (tsur.dag_runner)."""
    import json

    python = airflow_venv() / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"Airflow is not installed at {airflow_venv()}; run `make install` (or set TSUR_AIRFLOW_VENV)")
    proc = subprocess.Popen([str(python), "-m", "tsur.dag_runner", ",".join(dag_ids), *[str(d) for d in days]],
                            env=airflow_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(PROJECT_ROOT))
    ok = True
    for line in proc.stdout:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "error" in r:
            ok = False
            say(f"   {r.get('dag_id', '')} {r['error']} {r.get('details', '')}")
            continue
        good = r["state"].endswith("success")
        ok &= good
        say(f"   {r['dag_id']} {r['date']}: {'success' if good else 'FAILED'} in {r['seconds']} s")
    err = proc.stderr.read()
    rc = proc.wait()
    if rc != 0 and ok:
        ok = False
    if not ok:
        log_path = settings.logs_dir / "dag-runner.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(err, encoding="utf-8")
        say(f"   DAG runner output: {log_path}")
    return ok
