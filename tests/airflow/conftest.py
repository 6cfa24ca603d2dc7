"""Airflow tests run in the Airflow virtualenv. The environment (AIRFLOW_HOME, SQLite metadata,
dags folder, the warehouse connection to a fresh chDB store) is set before Airflow is imported."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

_DATA = Path(tempfile.mkdtemp(prefix="tsur-airflow-test-"))
os.environ["TSUR_DATA_DIR"] = str(_DATA)
os.environ["TSUR_PSEUDONYM_KEY"] = "test-key-0123456789abcdef"
os.environ["TSUR_DAG_RETRIES"] = "0"   # a failing task fails the test at once instead of after back-off
os.environ["TSUR_CACHE_DIR"] = str(Path(__file__).resolve().parents[2] / "data" / "cache")
for k in [k for k in os.environ if k.startswith("AIRFLOW")]:
    del os.environ[k]

from tsur.airflow_env import airflow_env  # noqa: E402
from tsur.config import Settings  # noqa: E402

SETTINGS = Settings.from_env()
os.environ.update(airflow_env(SETTINGS))


@pytest.fixture(scope="session")
def airflow_db():
    """Metadata DB migrated and the chdb pool created, through the real airflow CLI."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    subprocess.run([str(airflow), "pools", "set", "chdb", "1", "chDB tasks"], check=True, capture_output=True, env=os.environ.copy())
    return SETTINGS


@pytest.fixture(scope="session")
def settings():
    return SETTINGS
