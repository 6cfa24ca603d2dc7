"""ClickHouse access: one client factory for chDB (embedded) and a server (HTTP), and a
cross-process lock so several processes can share one embedded store.

chDB lets one process at a time open a store directory (a second one gets 'Error initializing
EmbeddedServer'); closing the client releases it. ``warehouse_session`` therefore takes an
exclusive file lock beside the store for the life of the session (a no-op for a server), so
the Faust sink, Airflow tasks and the CLI take turns. Keep sessions short.
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import clickhouse_connect
from filelock import FileLock, Timeout


class WarehouseError(Exception):
    """The warehouse cannot be used; the message is one line with the fix."""


def chdb_store_path(dsn: str) -> Path | None:
    """The store directory of a chdb:// DSN, or None for a server DSN."""
    parsed = urlparse(dsn)
    if parsed.scheme != "chdb":
        return None
    return Path(parsed.path)


def lock_path(dsn: str) -> Path | None:
    store = chdb_store_path(dsn)
    return None if store is None else store.parent / (store.name + ".lock")


def open_client(dsn: str, **settings):
    """A clickhouse-connect client for the DSN (chdb:///path or http(s)://…).

    Prefer ``warehouse_session``, which also takes the embedded store's lock."""
    store = chdb_store_path(dsn)
    try:
        if store is not None:
            store.parent.mkdir(parents=True, exist_ok=True)
            return clickhouse_connect.get_client(dsn=dsn, settings=settings or None)
        return clickhouse_connect.get_client(dsn=dsn, settings=settings or None, connect_timeout=5)
    except Exception as exc:  # clickhouse-connect raises several types; all mean the same to an operator
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if store is not None and "EmbeddedServer" in first:
            raise WarehouseError(
                f"the embedded store {store} is open in another process that does not use tsur's lock; "
                "stop it, or point TSUR_CLICKHOUSE_DSN at another store"
            ) from None
        raise WarehouseError(
            f"cannot open the warehouse at TSUR_CLICKHOUSE_DSN={redact(dsn)}: {first[:200]}; "
            "check the DSN and that the server is up"
        ) from None


def redact(dsn: str) -> str:
    parsed = urlparse(dsn)
    if parsed.password:
        return dsn.replace(f":{parsed.password}@", ":***@")
    return dsn


def waiting_dir(path: Path) -> Path:
    """Where processes waiting for a store lock leave a mark (``<lock>.waiting/<pid>-<thread>``)."""
    return path.parent / (path.name + ".waiting")


def others_waiting(dsn: str) -> bool:
    """Whether another process or thread is waiting for the embedded store's lock (False for a
    server DSN). A holder that keeps its session open across many calls (warehouse.lease) gives the
    store back only when someone waits: reopening it costs 60–400 ms. Marks of processes that are
    gone (killed while waiting) are removed."""
    path = lock_path(dsn)
    if path is None:
        return False
    try:
        marks = list(waiting_dir(path).iterdir())
    except FileNotFoundError:
        return False
    for mark in marks:
        pid = int(mark.name.split("-", 1)[0]) if mark.name.split("-", 1)[0].isdigit() else 0
        try:
            if pid <= 0:
                raise ProcessLookupError
            os.kill(pid, 0)
            return True
        except PermissionError:         # alive, another user's
            return True
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                mark.unlink()
    return False


@contextlib.contextmanager
def store_lock(dsn: str, timeout: float = 120.0) -> Iterator[None]:
    """Hold the embedded store's cross-process lock (nothing for a server DSN). A caller that has to
    wait says so (``others_waiting``) while it waits."""
    path = lock_path(dsn)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(blocking=False)
    except Timeout:
        marks = waiting_dir(path)
        marks.mkdir(exist_ok=True)
        mark = marks / f"{os.getpid()}-{threading.get_ident()}"
        mark.touch()
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise WarehouseError(
                f"the embedded store lock {path} was held by another process for more than {timeout:g} s; "
                "wait for it or raise TSUR_WAREHOUSE_LOCK_TIMEOUT"
            ) from None
        finally:
            with contextlib.suppress(OSError):
                mark.unlink()
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def warehouse_session(dsn: str, lock_timeout: float = 120.0, **settings):
    """Open a client under the store lock; close it (releasing chDB) on exit."""
    with store_lock(dsn, lock_timeout):
        client = open_client(dsn, **settings)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.close()

