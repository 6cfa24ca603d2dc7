"""The pure core of the stream: a batch of raw payloads in, rows for the warehouse and
dead-letter records out. No Faust, no I/O: the agent is the shell around it.

This is the seam for enrichment: ``process_batch`` is where enriched incidents will be built
from the valid posts (nlp + geo) and added to ``BatchResult``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from intake.raw_post import COLUMNS as RAW_COLUMNS
from intake.raw_post import RawPost, Rejection, parse_raw_post

DLQ_PAYLOAD_CHARS = 10_000


@dataclass
class DeadLetter:
    reason: str
    payload: str
    topic: str
    partition: int | None
    offset: int | None
    at: str

    def to_json(self) -> dict:
        return self.__dict__.copy()


@dataclass
class BatchResult:
    posts: list[RawPost] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def warehouse_batches(self) -> list[tuple[str, list[list], tuple[str, ...]]]:
        return [("posts_raw", [p.row() for p in self.posts], RAW_COLUMNS)]


def _payload_preview(payload) -> str:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload[: DLQ_PAYLOAD_CHARS * 4]).decode("utf-8", "replace")[:DLQ_PAYLOAD_CHARS]
    return str(payload)[:DLQ_PAYLOAD_CHARS]


def process_batch(messages, key: bytes, topic: str = "posts.raw", now: datetime | None = None) -> BatchResult:
    """``messages``: iterable of (payload, partition, offset). Never raises on bad payloads."""
    now = now or datetime.now(timezone.utc)
    result = BatchResult()
    seen: set[str] = set()
    for payload, partition, offset in messages:
        try:
            parsed = parse_raw_post(payload, key, now=now)
        except Exception as exc:  # a bug in validation must not kill the worker: dead-letter it
            parsed = Rejection(f"internal error while validating: {type(exc).__name__}: {exc}"[:300])
        if isinstance(parsed, Rejection):
            result.dead_letters.append(
                DeadLetter(parsed.reason, _payload_preview(payload), topic, partition, offset, now.isoformat())
            )
        elif parsed.post_id not in seen:  # the same post twice in one batch: store once
            seen.add(parsed.post_id)
            result.posts.append(parsed)
    return result
