"""Batched inserts (and the few reads) of the stream worker.

``BatchWriter.insert_many`` writes a batch's tables, one INSERT each, in one warehouse session;
``run`` runs a read in the same way. Both go through a :class:`warehouse.lease.WarehouseLease`,
so a batch's lookup of known posts and its inserts share one opening of the embedded store
(opening it costs 60–400 ms as the store grows), and the store is given back after a short idle
time or at the latest after a few seconds of steady traffic (Airflow tasks and the dashboard take
their turn through the store lock). Errors surface as :class:`WarehouseError`; the caller decides
how to retry (the stream retries with backoff and commits offsets only afterwards).
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from warehouse.lease import WarehouseLease
from warehouse.session import WarehouseError

T = TypeVar("T")
LINGER_S = 0.5
MAX_HOLD_S = 1.0


class BatchWriter:
    def __init__(self, dsn: str, lock_timeout: float = 120.0):
        self.dsn = dsn
        # a batch = lookup, enrichment, insert: one session, given back after 1 s of traffic at the
        # latest — and never held for more than half the lock timeout that others wait with
        self.lease = WarehouseLease(dsn, lock_timeout, linger=min(LINGER_S, lock_timeout / 4),
                                    max_hold=min(MAX_HOLD_S, lock_timeout / 2))
        self.last_insert_seconds = 0.0

    def run(self, fn: Callable[..., T]) -> T:
        """``fn(client)`` in the worker's warehouse session; any failure is a WarehouseError, after
        which the session is closed (the next call opens a fresh one)."""
        try:
            return self.lease.run(fn)
        except WarehouseError:
            self.close()
            raise
        except Exception as exc:  # driver/database errors: one line for the log, then retry upstream
            self.close()
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise WarehouseError(f"warehouse call failed: {first}") from exc

    def insert_many(self, batches: list[tuple[str, list[list], tuple[str, ...]]]) -> None:
        """Insert several (table, rows, columns) batches in one warehouse session, in order."""
        if any(b[1] for b in batches):
            self.write(lambda client: batches)

    def write(self, make_batches: Callable[..., list[tuple[str, list[list], tuple[str, ...]]]]) -> None:
        """``make_batches(client)`` (which may read first: what it reads and what is written then
        share one session, with no other call of this worker in between), then its batches inserted
        in order. Must be repeatable: a failed call is retried whole."""
        def insert(client) -> None:
            for table, rows, columns in make_batches(client):
                if rows:
                    client.insert(table, rows, column_names=list(columns))

        t0 = time.perf_counter()
        self.run(insert)
        self.last_insert_seconds = time.perf_counter() - t0

    def close(self) -> None:
        self.lease.close()
