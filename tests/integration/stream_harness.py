"""Start the real broker (Tansu) and real Faust worker processes for integration tests."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from tsur import processes
from tsur.broker import start_local_broker
from tsur.config import Settings
from warehouse.migrations import migrate
from warehouse.session import warehouse_session


class Stack:
    def __init__(self, settings: Settings, env: dict):
        self.s = settings
        self.env = env
        self.broker = None
        self.workers: list[processes.Child] = []

    def start_broker(self) -> None:
        """The local broker as `tsur broker` starts it, with the storage of TSUR_BROKER_STORAGE (the
        tests' default is memory; the durability tests ask for s3)."""
        from streams.topics import ensure_topics

        self.broker = start_local_broker(self.s)
        ensure_topics(self.s)

    def migrate(self) -> None:
        with warehouse_session(self.s.clickhouse_dsn) as c:
            migrate(c, log=lambda m: None)

    def start_worker(self, name: str = "worker", env: dict | None = None) -> processes.Child:
        argv = [sys.executable, "-m", "streams.app", "worker", "-l", "info"]
        child = processes.start(name, argv, self.s.logs_dir, env={**self.env, **(env or {})})
        self.workers.append(child)
        return child

    def publish(self, payloads: list[bytes]) -> int:
        from intake.producer import publish

        return publish(self.s.bootstrap_servers, self.s.topics["posts_raw"], payloads)

    def query(self, sql: str, **params):
        with warehouse_session(self.s.clickhouse_dsn) as c:
            return c.query(sql, parameters=params).result_rows

    def stored(self) -> tuple[int, int]:
        """(rows after dedup, distinct post ids) in posts_raw."""
        (final, distinct), = self.query("SELECT (SELECT count() FROM posts_raw FINAL), (SELECT uniqExact(post_id) FROM posts_raw)")
        return int(final), int(distinct)

    def wait_stored(self, n: int, timeout: float = 120.0, worker: processes.Child | None = None) -> tuple[int, int]:
        """Wait until ``n`` distinct posts are stored, or nothing new was stored for ``timeout`` s."""
        deadline = time.monotonic() + timeout
        got = (0, 0)
        while time.monotonic() < deadline:
            if worker is not None and not worker.alive():
                raise AssertionError(f"worker died:\n{worker.tail(30)}")
            before, got = got, self.stored()
            if got[1] >= n:
                return got
            if got[1] > before[1]:
                deadline = time.monotonic() + timeout          # still making progress: keep waiting
            time.sleep(0.5)
        return got

    def read_topic(self, topic: str, min_count: int, timeout: float = 20.0) -> list[dict]:
        async def consume():
            from aiokafka import AIOKafkaConsumer

            consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.s.bootstrap_servers, auto_offset_reset="earliest",
                                        enable_auto_commit=False, group_id=None)
            await consumer.start()
            out = []
            try:
                deadline = time.monotonic() + timeout
                while len(out) < min_count and time.monotonic() < deadline:
                    batch = await consumer.getmany(timeout_ms=500)
                    for msgs in batch.values():
                        out.extend(json.loads(m.value) for m in msgs)
            finally:
                await consumer.stop()
            return out

        return asyncio.run(consume())

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        if self.broker:
            self.broker.stop()


def account(stack: "Stack", produced: int) -> dict:
    """Exact accounting: posts (deduplicated and distinct), incidents whose post count differs
    from the posts recorded in them, posts counted into incidents."""
    (final, distinct, enriched, physical), = stack.query(
        "SELECT (SELECT count() FROM posts_raw FINAL), (SELECT uniqExact(post_id) FROM posts_raw), "
        "(SELECT count() FROM posts_enriched FINAL), (SELECT count() FROM posts_raw)")
    (incidents, counted, assigned, wrong), = stack.query(
        "WITH p AS (SELECT incident_id, count() AS n FROM posts_enriched FINAL WHERE incident_id != '' GROUP BY incident_id) "
        "SELECT count(), sum(i.posts_count), (SELECT sum(n) FROM p), countIf(i.posts_count != p.n) "
        "FROM incidents AS i FINAL LEFT JOIN p ON p.incident_id = i.incident_id SETTINGS join_use_nulls = 0")
    return {"produced": produced, "stored": int(distinct), "final": int(final), "enriched": int(enriched),
            "lost": produced - int(distinct), "double": int(final) - int(distinct), "redelivered": int(physical) - int(final),
            "incidents": int(incidents), "incident_posts": int(counted), "assigned_posts": int(assigned),
            "incidents_miscounted": int(wrong)}


def assert_exact(acc: dict) -> None:
    assert (acc["stored"], acc["final"], acc["enriched"]) == (acc["produced"],) * 3, acc
    assert acc["incident_posts"] == acc["assigned_posts"] and acc["incidents_miscounted"] == 0, acc


REGIONS = ("Краснодарский край", "Ростовская область", "Воронежская область", "Тверская область", "Пермский край",
           "Омская область", "Республика Татарстан", "Приморский край")


def valid_posts(n: int, start: int = 0, regions: int = 2) -> list[bytes]:
    """Complaints keyed by region (the message key): ``regions`` of them, so partitions get work."""
    return [json.dumps({"source": "vk", "id": f"p{i}", "text": f"Третий день нет воды, дом {i}",
                        "created_at": "2026-11-20T10:00:00+03:00", "author_id": f"id{i % 97}",
                        "region_hint": REGIONS[i % regions]},
                       ensure_ascii=False).encode() for i in range(start, start + n)]


def log_of(child: processes.Child) -> str:
    return Path(child.log_path).read_text(errors="replace")
