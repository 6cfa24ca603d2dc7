"""Batched inserts for the stream sink.

``BatchWriter.insert`` writes one batch in one INSERT. For the embedded store it opens the store
under the cross-process lock and closes it after the batch (so Airflow tasks can take their
turn); for a server it keeps one client. Errors surface as :class:`WarehouseError`; the caller
decides how to retry (the stream retries with backoff and commits offsets only afterwards).
"""
from __future__ import annotations

import contextlib
import time

from warehouse.session import WarehouseError, chdb_store_path, open_client, warehouse_session


class BatchWriter:
    def __init__(self, dsn: str, lock_timeout: float = 120.0):
        self.dsn = dsn
        self.lock_timeout = lock_timeout
        self.embedded = chdb_store_path(dsn) is not None
        self._client = None
        self.last_insert_seconds = 0.0

    def insert_many(self, batches: list[tuple[str, list[list], tuple[str, ...]]]) -> None:
        """Insert several (table, rows, columns) batches in one warehouse session."""
        batches = [b for b in batches if b[1]]
        if not batches:
            return
        t0 = time.perf_counter()
        try:
            if self.embedded:
                with warehouse_session(self.dsn, self.lock_timeout) as client:
                    for table, rows, columns in batches:
                        client.insert(table, rows, column_names=list(columns))
            else:
                if self._client is None:
                    self._client = open_client(self.dsn)
                for table, rows, columns in batches:
                    self._client.insert(table, rows, column_names=list(columns))
        except WarehouseError:
            self.close()
            raise
        except Exception as exc:  # driver/database errors: one line for the log, then retry upstream
            self.close()
            raise WarehouseError(f"insert failed: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__}") from exc
        self.last_insert_seconds = time.perf_counter() - t0

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
