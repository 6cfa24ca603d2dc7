"""Rows per second of one ClickHouse insert stream, the way the worker writes: batches of the
stream's own rows (posts_raw + incidents + posts_enriched from the pure core on sample posts),
through warehouse.batch_writer.BatchWriter (chDB: one session under the lock, held for up to 1 s of batches) —
and, for comparison, one client kept open.

    .venvs/stream/bin/python bench/insert.py [--batches 40] [--batch-size 2000] [--dsn chdb:///tmp/x]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--dsn", help="default: a fresh chDB store in a temp dir")
    args = ap.parse_args()
    os.environ.setdefault("TSUR_CACHE_DIR", str(ROOT / "data" / "cache"))
    from enrichment.enricher import Enricher
    from intake.sample import generate
    from streams.incident_builder import IncidentBuilder
    from streams.pipeline import enrich_batch, parse_batch
    from streams.routing import make_route
    from warehouse.batch_writer import BatchWriter
    from warehouse.migrations import migrate
    from warehouse.session import open_client, warehouse_session

    dsn = args.dsn or f"chdb://{tempfile.mkdtemp(prefix='tsur-bench-insert-')}/warehouse"
    with warehouse_session(dsn) as c:
        migrate(c, log=lambda m: None)
    posts = list(generate("Краснодарский край", 14, 5, per_day=args.batch_size // 14 + 1))[: args.batch_size]
    now = datetime.now(timezone.utc)
    result = parse_batch(((json.dumps(p, ensure_ascii=False).encode(), 0, i) for i, p in enumerate(posts)), b"bench-key", now=now)
    enrich_batch(result, Enricher.load(), IncidentBuilder(), make_route(), now=now)
    template = result.warehouse_batches(now)
    rows_per_batch = sum(len(rows) for _, rows, _ in template)
    print(f"one batch = {len(posts)} posts → {rows_per_batch} rows in {len(template)} tables "
          f"({', '.join(f'{t} {len(r)}' for t, r, _ in template)})")

    def batch(k: int):
        out = []
        for table, rows, cols in template:
            out.append((table, [[f"{r[0]}-{k}", *r[1:]] for r in rows], cols))   # new primary keys, same rows
        return out

    batches = [batch(k) for k in range(args.batches)]
    writer = BatchWriter(dsn)
    t0 = time.perf_counter()
    for b in batches:
        writer.insert_many(b)
    took = time.perf_counter() - t0
    print(f"worker path (BatchWriter, one session held up to 1 s): {args.batches * rows_per_batch / took:,.0f} rows/s, "
          f"{args.batches * len(posts) / took:,.0f} posts/s, {took / args.batches * 1000:.0f} ms per batch")
    if dsn.startswith("chdb:"):
        client = open_client(dsn)
        t0 = time.perf_counter()
        for b in batches:
            for table, rows, cols in b:
                client.insert(table, [[f"x{r[0]}", *r[1:]] for r in rows], column_names=list(cols))
        took = time.perf_counter() - t0
        client.close()
        print(f"one client kept open:                             {args.batches * rows_per_batch / took:,.0f} rows/s, "
              f"{took / args.batches * 1000:.0f} ms per batch")


if __name__ == "__main__":
    main()
