"""Bounded disk and an honest backlog for the durable local broker (Tansu ``s3://`` on localbucket).

Tansu 0.6.0 applies neither ``retention.ms`` nor ``retention.bytes``, and its DeleteRecords is not
implemented (the broker panics on the request), so a topic keeps every message it was ever given.
The process that owns the broker (``tsur up``'s supervisor, ``tsur broker``) therefore trims the
bucket itself: each produced batch is one object, ``…/topics/<topic>/partitions/<n>/records/
<base offset>.batch``, and a fetch below the first remaining object starts at that object (checked
in tests/integration/test_durable_broker.py).

A batch is removed only when all three hold:

- it is wholly below the committed offset of every consumer group that reads the partition; for
  the topics the worker consumes (posts.raw, incidents.status) the worker's group must have
  committed past it, so **a message nobody has consumed is never removed**, whatever its age;
- it is older than ``TSUR_BROKER_RETENTION_HOURS``, or the partition holds more than
  ``TSUR_BROKER_RETENTION_MB`` (then the oldest consumed batches go first);
- it is not the partition's last batch.

Other groups whose offsets were not committed for ``TSUR_BROKER_RETENTION_HOURS`` are treated as
gone (as Kafka expires idle groups' offsets), so an abandoned reader cannot hold the disk forever;
the worker's own group always counts.

The backlog (messages not yet consumed by the worker) is read from the same store: the partition's
high watermark (``watermark.json``) minus the group's committed offset. It does not rely on
ListOffsets "latest", which this Tansu build answers wrongly (docs/broker.md).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from tsur.broker import BUCKET, DURABLE_CLUSTER_ID, broker_dir

WORKER_GROUP = "tsur"                                   # the Faust app id (streams/app.py)
WORKER_TOPICS = ("posts_raw", "incidents_status", "alerts")   # the topics its agents read
TRIM_EVERY_S = 60.0


@dataclass
class TrimReport:
    removed_batches: int = 0
    freed_bytes: int = 0
    kept_bytes: int = 0
    unconsumed_bytes: int = 0                 # kept because some group has not consumed them yet

    def line(self) -> str:
        return (f"broker retention: removed {self.removed_batches} batches ({self.freed_bytes / 1e6:.1f} MB); "
                f"kept {self.kept_bytes / 1e6:.1f} MB, of which {self.unconsumed_bytes / 1e6:.1f} MB not consumed yet")


def cluster_root(s) -> Path:
    return broker_dir(s) / BUCKET / "clusters" / DURABLE_CLUSTER_ID


def _batches(records: Path) -> list[tuple[int, Path, int, float]]:
    """(base offset, path, bytes, mtime) of a partition's batch objects, oldest first."""
    out = []
    for p in records.glob("*.batch"):
        try:
            st = p.stat()
            out.append((int(p.stem), p, st.st_size, st.st_mtime))
        except (ValueError, FileNotFoundError):   # a temp file, or removed meanwhile
            continue
    return sorted(out)


def _group_offsets(root: Path, topic: str, partition: int, now: float, max_age_s: float) -> dict[str, int]:
    """Committed offsets of the groups that read this partition and committed within ``max_age_s``
    (the worker's group always counts)."""
    out = {}
    for f in root.glob(f"groups/consumers/*/offsets/{topic}/partitions/{partition:010d}.json"):
        try:
            if now - f.stat().st_mtime > max_age_s and f.parents[3].name != WORKER_GROUP:   # an idle worker is not gone
                continue
            out[f.parents[3].name] = int(json.loads(f.read_text())["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def _partitions(s):
    """(topic key, topic, partition number, partition dir) of tsur's topics present in the store."""
    root = cluster_root(s)
    for key, topic in s.topics.items():
        for pdir in sorted((root / "topics" / topic / "partitions").glob("*")):
            if pdir.is_dir() and pdir.name.isdigit():
                yield key, topic, int(pdir.name), pdir


def _safe_offset(key: str, groups: dict[str, int]) -> float:
    """Everything below this offset has been consumed by every reader of the partition."""
    if key in WORKER_TOPICS:
        groups = {WORKER_GROUP: groups.get(WORKER_GROUP, 0), **groups}
    return min(groups.values()) if groups else float("inf")


def trim(s, now: float | None = None, log=None) -> TrimReport:
    """Remove consumed batches beyond the retention bounds (see the module's doc). Durable storage only."""
    report = TrimReport()
    if s.broker_storage != "s3":
        return report
    now = time.time() if now is None else now
    max_age = s.broker_retention_hours * 3600.0
    budget = s.broker_retention_mb * 1_000_000
    root = cluster_root(s)
    for key, topic, n, pdir in _partitions(s):
        batches = _batches(pdir / "records")
        safe = _safe_offset(key, _group_offsets(root, topic, n, now, max_age))
        size = sum(b[2] for b in batches)
        removed = 0
        for i, (base, path, nbytes, mtime) in enumerate(batches[:-1]):
            consumed = batches[i + 1][0] <= safe
            if not consumed or not (now - mtime > max_age or size > budget):
                break                               # oldest first: stop at the first batch that stays
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            size -= nbytes
            removed += 1
            report.freed_bytes += nbytes
        report.removed_batches += removed
        kept = batches[removed:]
        ends = [b[0] for b in kept[1:]] + [_high(pdir)]     # batch j holds offsets [base_j, ends[j])
        report.kept_bytes += sum(b[2] for b in kept)
        report.unconsumed_bytes += sum(b[2] for b, end in zip(kept, ends) if end > safe)
    if log is not None and report.removed_batches:
        log(report.line())
    return report


def _high(pdir: Path) -> int:
    """The partition's high watermark (the next offset to be written), as Tansu stores it."""
    try:
        return int(json.loads((pdir / "watermark.json").read_text()).get("high") or 0)
    except (OSError, ValueError):
        return 0


def backlog(s) -> dict[str, int] | None:
    """Messages per topic not yet consumed by the worker (high watermark − committed offset), read
    from the durable store; None for memory storage (then the worker's /metrics has the lag)."""
    if s.broker_storage != "s3":
        return None
    root = cluster_root(s)
    out: dict[str, int] = {}
    for key, topic, n, pdir in _partitions(s):
        if key not in WORKER_TOPICS:
            continue
        high = _high(pdir)
        committed = _group_offsets(root, topic, n, time.time(), float("inf")).get(WORKER_GROUP, 0)
        out[topic] = out.get(topic, 0) + max(0, high - committed)
    return out

