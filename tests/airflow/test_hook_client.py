"""warehouse.airflow_hook.hook_client on the embedded store: tasks that run one after another in a
process share one chDB session (a WarehouseLease), and the store is given back when idle."""
from __future__ import annotations

import json
import time

import pytest


@pytest.fixture
def conn(tmp_path, monkeypatch):
    dsn = f"chdb://{tmp_path / 'warehouse'}"
    monkeypatch.setenv("AIRFLOW_CONN_TSUR_TEST_HOOK", json.dumps({"conn_type": "clickhouse", "extra": {"client_kwargs": {"dsn": dsn}}}))
    return "tsur_test_hook", dsn


def test_one_session_for_many_tasks_and_the_store_is_given_back(conn):
    from warehouse.airflow_hook import _leases, hook_client
    from warehouse.session import warehouse_session

    conn_id, dsn = conn
    with hook_client(conn_id) as c:
        c.command("CREATE TABLE t (x UInt32) ENGINE = MergeTree ORDER BY x")
    for i in range(5):                      # five "tasks"
        with hook_client(conn_id) as c:
            c.insert("t", [[i]], column_names=["x"])
    with hook_client(conn_id) as c:
        assert c.query("SELECT sum(x), count() FROM t").result_rows == [(10, 5)]
        with pytest.raises(Exception, match="UNKNOWN_TABLE|doesn't exist|does not exist"):
            c.query("SELECT * FROM no_such_table")          # a failed query is the caller's error ...
        assert c.query("SELECT count() FROM t").result_rows == [(5,)]   # ... and the session goes on
    assert _leases[dsn].opened == 1
    time.sleep(1.5)                         # idle: the lease closes the store
    with warehouse_session(dsn, lock_timeout=5) as c:   # so anyone else (here a plain session) opens it at once
        assert c.query("SELECT count() FROM t").result_rows == [(5,)]
    with hook_client(conn_id) as c:
        assert c.query("SELECT count() FROM t").result_rows == [(5,)]
    assert _leases[dsn].opened == 2
    _leases.pop(dsn).close()
