"""The Faust app: topics and agents of the real-time path.

Run it with ``tsur worker`` (or ``python -m streams.app worker -l info``). Configuration comes
from the environment (tsur.config.Settings): broker URL, topic names, partitions, batch bounds.

Delivery is at-least-once: an agent acknowledges a batch (so Faust may commit its offsets) only
after ClickHouse accepted the rows; ids are deterministic and tables are ReplacingMergeTree, so a
redelivered message is stored once. Faust tables hold only rebuildable state.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import faust

from streams.pipeline import process_batch
from tsur.config import Settings
from warehouse.batch_writer import BatchWriter
from warehouse.session import WarehouseError

log = logging.getLogger("tsur.worker")
settings = Settings.from_env()

app = faust.App(
    "tsur",
    broker=settings.broker_url,
    value_serializer="raw",
    key_serializer="raw",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=1,
    topic_disable_leader=True,
    store="memory://",
    datadir=str(settings.data_dir / "faust"),
    web_host="127.0.0.1",
    web_port=settings.worker_web_port,
    consumer_auto_offset_reset="earliest",
    # Tansu completes a group join after about half the rebalance timeout: keep both short.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
    broker_rebalance_timeout=10.0,
    broker_commit_interval=1.0,
    producer_acks=-1,
)

posts_raw = app.topic(settings.topics["posts_raw"], value_type=bytes, partitions=settings.topic_partitions)
incidents_enriched = app.topic(settings.topics["incidents_enriched"], value_type=bytes, partitions=settings.topic_partitions)
incidents_status = app.topic(settings.topics["incidents_status"], value_type=bytes, partitions=settings.topic_partitions)
alerts = app.topic(settings.topics["alerts"], value_type=bytes, partitions=settings.topic_partitions)
posts_dlq = app.topic(settings.topics["posts_dlq"], value_type=bytes, partitions=settings.topic_partitions)

writer = BatchWriter(settings.clickhouse_dsn, settings.warehouse_lock_timeout)
stats = {"posts_in": 0, "posts_stored": 0, "dead_letters": 0, "insert_retries": 0}

RETRY_MIN, RETRY_MAX = 0.5, 30.0


def _spool_file() -> Path:
    return settings.spool_dir / f"posts.raw-{time.time_ns()}.jsonl"


def spool_payloads(payloads: list[bytes]) -> Path:
    """Save payloads of a batch that could not be stored before shutdown; re-published on start."""
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    path = _spool_file()
    with open(path, "w", encoding="utf-8") as fh:
        for p in payloads:
            fh.write(json.dumps({"payload": bytes(p).decode("utf-8", "surrogateescape")}, ensure_ascii=False) + "\n")
    return path


async def write_until_stored(batches, payloads: list[bytes]) -> None:
    """Insert with exponential backoff until ClickHouse accepts; the stream waits (backpressure)."""
    delay = RETRY_MIN
    try:
        while True:
            try:
                await asyncio.to_thread(writer.insert_many, batches)
                return
            except WarehouseError as exc:
                stats["insert_retries"] += 1
                log.warning("warehouse unavailable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
    except asyncio.CancelledError:
        # Faust acknowledges a taken batch when the agent stops; keep it so nothing is lost.
        path = spool_payloads(payloads)
        log.warning("stopping with %d unstored posts; spooled to %s for re-publishing", len(payloads), path)
        raise


@app.agent(posts_raw, concurrency=1)
async def store_raw_posts(stream):
    """posts.raw -> validate -> ClickHouse posts_raw (+ posts.dlq for rejects)."""
    async for events in stream.take_events(settings.sink_batch_size, within=settings.sink_batch_seconds):
        payloads = [e.value for e in events]
        result = process_batch(
            ((e.value, e.message.partition, e.message.offset) for e in events),
            settings.pseudonym_key, topic=posts_raw.get_topic_name(),
        )
        stats["posts_in"] += len(events)
        for dead in result.dead_letters:
            await posts_dlq.send(value=json.dumps(dead.to_json(), ensure_ascii=False).encode())
        stats["dead_letters"] += len(result.dead_letters)
        await write_until_stored(result.warehouse_batches(), payloads)
        stats["posts_stored"] += len(result.posts)


@app.task
async def republish_spool() -> None:
    """On start: send spooled payloads back to posts.raw (the sink is idempotent), then delete them."""
    if not settings.spool_dir.exists():
        return
    for path in sorted(settings.spool_dir.glob("posts.raw-*.jsonl")):
        count = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            payload = json.loads(line)["payload"].encode("utf-8", "surrogateescape")
            await posts_raw.send(value=payload)
            count += 1
        path.unlink()
        log.info("re-published %d spooled posts from %s", count, path.name)


@app.timer(interval=30.0)
async def report_progress() -> None:
    log.info("worker stats: %s", stats)


def main() -> None:
    app.main()


if __name__ == "__main__":
    main()
