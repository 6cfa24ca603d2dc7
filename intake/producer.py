"""Publish posts to ``posts.raw`` (``tsur ingest``): JSONL or CSV in, Kafka messages out,
keyed by region so a region's posts keep their order within a partition."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Iterable, Iterator

from intake.adapters import posts_from_file


def _key(payload: bytes) -> bytes | None:
    try:
        obj = json.loads(payload)
        region = obj.get("region_hint") if isinstance(obj, dict) else None
        return str(region).encode() if region else None
    except (ValueError, UnicodeDecodeError):
        return None


def new_producer(bootstrap: list[str]):
    """An idempotence-safe producer for posts.raw: every send waits for all in-sync replicas."""
    from aiokafka import AIOKafkaProducer

    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=262144)


async def send_all(producer, topic: str, payloads: Iterable[bytes], rate: float | None = None, progress=lambda n: None) -> int:
    """Send every payload on a started producer and wait for the broker's acknowledgements; return
    how many were sent (an error of any send raises)."""
    sent = 0
    t0 = time.monotonic()
    pending = []
    for payload in payloads:
        pending.append(await producer.send(topic, payload, key=_key(payload)))
        sent += 1
        progress(1)
        if len(pending) >= 5000:
            await asyncio.gather(*pending)
            pending.clear()
        if rate:
            ahead = sent / rate - (time.monotonic() - t0)
            if ahead > 0:
                await asyncio.sleep(ahead)
    if pending:
        await asyncio.gather(*pending)
    return sent


async def _publish(bootstrap: list[str], topic: str, payloads: Iterable[bytes], rate: float | None, progress) -> int:
    producer = new_producer(bootstrap)
    try:
        await producer.start()
    except BaseException:
        await producer.stop()      # release its connections; the caller reports the broker as unreachable
        raise
    try:
        sent = await send_all(producer, topic, payloads, rate, progress)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def publish(bootstrap: list[str], topic: str, payloads: Iterable[bytes], rate: float | None = None, progress=lambda n: None) -> int:
    """Send every payload (acks=all); return how many were acknowledged by the broker."""
    return asyncio.run(_publish(bootstrap, topic, payloads, rate, progress))


def publish_json(bootstrap: list[str], topic: str, objs: list[dict]) -> int:
    """Send JSON objects (status events, posts) and wait for the broker's acknowledgements."""
    return publish(bootstrap, topic, [json.dumps(o, ensure_ascii=False).encode() for o in objs])
