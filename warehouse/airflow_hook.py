"""The one way an Airflow task gets ClickHouse: the official ClickHouseHook, wrapped in the
embedded store's cross-process lock.

The Airflow connection (default id ``tsur_warehouse``) is a ClickHouse server connection in
production, or carries ``{"client_kwargs": {"dsn": "chdb:///…"}}`` in its extra for the
embedded store. For a server the hook's ``get_client`` gives the client. For the embedded store
the process keeps one ``warehouse.lease.WarehouseLease`` per store and hands out a client whose
calls run on the lease's thread: opening chDB costs 0.5–0.7 s with its settings probe, and an
Airflow process that runs many small tasks one after another (``dag.test``, mapped report tasks)
would pay it per task. The lease closes the store after a second idle, or sooner when another
process waits for it, exactly as for the web app and the stream worker.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import threading
from typing import Iterator


def _dsn_of(conn) -> str | None:
    extra = conn.extra_dejson or {}
    kwargs = extra.get("client_kwargs") or {}
    if isinstance(kwargs, str):
        import json

        kwargs = json.loads(kwargs)
    return kwargs.get("dsn")


class LeasedClient:
    """A clickhouse-connect client's methods, each call run on a WarehouseLease's thread."""

    def __init__(self, lease):
        self._lease = lease

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            return self._lease.run(lambda client: getattr(client, name)(*args, **kwargs))
        return call


_leases: dict[str, object] = {}
_leases_lock = threading.Lock()


def _lease_for(dsn: str, lock_timeout: float):
    from warehouse.lease import WarehouseLease

    with _leases_lock:
        lease = _leases.get(dsn)
        if lease is None:
            lease = _leases[dsn] = WarehouseLease(dsn, lock_timeout)
            atexit.register(lease.close)
        return lease


@contextlib.contextmanager
def hook_client(conn_id: str | None = None, lock_timeout: float | None = None) -> Iterator:
    from airflow.providers.clickhousedb.hooks.clickhouse import ClickHouseHook

    from warehouse.session import WarehouseError, chdb_store_path

    conn_id = conn_id or os.environ.get("TSUR_AIRFLOW_CONN_ID") or "tsur_warehouse"
    lock_timeout = lock_timeout or float(os.environ.get("TSUR_WAREHOUSE_LOCK_TIMEOUT") or 120)
    hook = ClickHouseHook(clickhouse_conn_id=conn_id)
    dsn = _dsn_of(hook.get_connection(conn_id)) or ""
    if chdb_store_path(dsn) is not None:
        yield LeasedClient(_lease_for(dsn, lock_timeout))
        return
    try:
        client = hook.get_client()
    except Exception as exc:
        raise WarehouseError(f"Airflow connection {conn_id!r} cannot open ClickHouse: {str(exc).splitlines()[0][:200]}") from exc
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
