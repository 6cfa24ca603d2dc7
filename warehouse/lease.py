"""A process's access to the warehouse: one thread owns a ``warehouse_session`` and runs every
query and insert of the process, opening the session on demand and closing it after a short idle
time. Used by the web app (dashboard, Open311 API) and by the stream worker's BatchWriter.

Why: the embedded store (chDB) lets one process at a time open it, so a session must be short
(the Faust worker, the web app and Airflow tasks take turns through the store lock) — but opening
it costs ~60 ms on the sample and ~300 ms on a store of ten million incidents. A page load fires a
burst of requests, a worker batch a lookup and an insert; they share one session, which is closed
``linger`` seconds after the burst — or, when another process waits for the store
(``warehouse.session.others_waiting``), at the latest ``max_hold`` seconds after it was opened;
then the store is left free for ``YIELD_S`` so that the waiting process gets its turn: a busy
worker or a steadily polled dashboard cannot starve the others, and nobody reopens the store
for nothing while no one else wants it). One owning thread also
keeps chDB's client on the thread that opened it. For a server DSN the same holds with a cheap open.
"""
from __future__ import annotations

import contextlib
import queue
import threading
import time
from concurrent.futures import Future
from typing import Callable, TypeVar

from warehouse.session import others_waiting, warehouse_session

T = TypeVar("T")

LINGER_S = 1.0
MAX_HOLD_S = 5.0
YIELD_S = 0.2          # > the lock's poll interval (filelock: 0.05 s)


class WarehouseLease:
    def __init__(self, dsn: str, lock_timeout: float, linger: float = LINGER_S, max_hold: float = MAX_HOLD_S):
        self.dsn = dsn
        self.lock_timeout = lock_timeout
        self.linger = linger
        self.max_hold = max_hold
        self.opened = 0            # sessions opened so far (for tests and the bench)
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def run(self, fn: Callable[..., T], timeout: float | None = None) -> T:
        """Run ``fn(client)`` on the warehouse thread and return its result (or raise its error)."""
        self._ensure_thread()
        fut: Future = Future()
        self._jobs.put((fn, fut))
        return fut.result(timeout)

    def close(self) -> None:
        """Close the session (if open) and stop the thread (a later ``run`` starts a new one)."""
        if self._thread is not None and self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(timeout=30)
        self._thread = None

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="tsur-warehouse", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        stack: contextlib.ExitStack | None = None
        client = None
        opened_at = 0.0

        def shut() -> None:
            nonlocal stack, client
            if stack is not None:
                with contextlib.suppress(Exception):
                    stack.close()
            stack, client = None, None

        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self.linger if client is not None else None)
                except queue.Empty:
                    shut()                      # idle: give the store back
                    continue
                if job is None:
                    return
                fn, fut = job
                if not fut.set_running_or_notify_cancel():
                    continue
                if client is None:
                    try:
                        stack = contextlib.ExitStack()
                        client = stack.enter_context(warehouse_session(self.dsn, self.lock_timeout))
                    except BaseException as exc:  # WarehouseError (lock timeout, bad DSN): the caller's
                        shut()
                        fut.set_exception(exc)
                        continue
                    opened_at = time.monotonic()
                    self.opened += 1
                try:
                    fut.set_result(fn(client))
                except BaseException as exc:  # a failed query is the caller's error; the session stays
                    fut.set_exception(exc)
                if time.monotonic() - opened_at >= self.max_hold and others_waiting(self.dsn):
                    shut()
                    time.sleep(YIELD_S)         # let a waiting process take the lock before we reopen
        finally:
            shut()
