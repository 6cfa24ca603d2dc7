"""Shared fixtures. Each test gets its own data dir (own chDB store, own broker port)."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tsur_env(tmp_path, monkeypatch):
    """An isolated TSUR_* environment; returns the env dict (also applied to os.environ)."""
    env = {
        "TSUR_DATA_DIR": str(tmp_path / "data"),
        "TSUR_BROKER_PORT": str(free_port()),
        "TSUR_BROKER_S3_PORT": str(free_port()),
        "TSUR_BROKER_STORAGE": "memory",      # fast; the durability tests set s3 (the product's default)
        "TSUR_WORKER_WEB_PORT": str(free_port()),
        "TSUR_PSEUDONYM_KEY": "test-key-0123456789abcdef",
        "TSUR_TOPIC_PARTITIONS": "2",
        "TSUR_CACHE_DIR": str(ROOT / "data" / "cache"),  # derived gazetteer indexes: build once per machine
    }
    for k in list(os.environ):
        if k.startswith("TSUR_"):
            monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return dict(os.environ)


@pytest.fixture
def settings(tsur_env):
    from tsur.config import Settings

    return Settings.from_env()


def tsur_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tsur.cli", *args]


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory):
    """A chDB store with the sample feed enriched, incidents, status events and daily tables
    (tests/sample_warehouse.py). Session-wide: treat it as read-only, or copy it (``copy_store``)."""
    from tests.sample_warehouse import build

    os.environ.setdefault("TSUR_CACHE_DIR", str(ROOT / "data" / "cache"))
    return build(tmp_path_factory.mktemp("sample") / "store")


def pytest_terminal_summary(terminalreporter):
    from tests.reliability import RECORDS, table

    if RECORDS:
        terminalreporter.section("reliability")
        terminalreporter.write_line(table(RECORDS))
