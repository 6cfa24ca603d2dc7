"""The one way an Airflow task gets ClickHouse: the official ClickHouseHook, wrapped in the
embedded store's cross-process lock.

The Airflow connection (default id ``tsur_warehouse``) is a ClickHouse server connection in
production, or carries ``{"client_kwargs": {"dsn": "chdb:///…"}}`` in its extra for the
embedded store; the hook's ``get_client`` then returns a chDB-backed clickhouse-connect client.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator


def _dsn_of(conn) -> str | None:
    extra = conn.extra_dejson or {}
    kwargs = extra.get("client_kwargs") or {}
    if isinstance(kwargs, str):
        import json

        kwargs = json.loads(kwargs)
    return kwargs.get("dsn")


@contextlib.contextmanager
def hook_client(conn_id: str | None = None, lock_timeout: float | None = None) -> Iterator:
    from airflow.providers.clickhousedb.hooks.clickhouse import ClickHouseHook

    from warehouse.session import WarehouseError, store_lock

    conn_id = conn_id or os.environ.get("TSUR_AIRFLOW_CONN_ID") or "tsur_warehouse"
    lock_timeout = lock_timeout or float(os.environ.get("TSUR_WAREHOUSE_LOCK_TIMEOUT") or 120)
    hook = ClickHouseHook(clickhouse_conn_id=conn_id)
    dsn = _dsn_of(hook.get_connection(conn_id)) or ""
    with store_lock(dsn, lock_timeout):
        try:
            client = hook.get_client()
        except Exception as exc:
            raise WarehouseError(f"Airflow connection {conn_id!r} cannot open ClickHouse: {str(exc).splitlines()[0][:200]}") from exc
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.close()
