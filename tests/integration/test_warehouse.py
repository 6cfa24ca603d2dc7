"""chDB through clickhouse-connect: migrations, the cross-process lock, idempotent storage."""
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone

import pytest

from warehouse.migrations import applied, migrate, pending
from warehouse.session import WarehouseError, open_client, warehouse_session


def test_migrate_is_idempotent(settings):
    with warehouse_session(settings.clickhouse_dsn) as c:
        first = migrate(c, log=lambda m: None)
        second = migrate(c, log=lambda m: None)
        assert first and not second and not pending(c)
        assert set(applied(c)) == {m.version for m in first}
        tables = {r[0] for r in c.query("SHOW TABLES").result_rows}
    assert {"posts_raw", "incidents", "incident_status_events", "routing", "alerts", "report_posts_daily"} <= tables


def test_replayed_rows_are_counted_once(settings):
    from intake.raw_post import COLUMNS, parse_raw_post

    post = parse_raw_post({"source": "vk", "id": "1", "text": "нет воды", "created_at": "2026-11-20T10:00:00Z"},
                          settings.pseudonym_key)
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        for _ in range(3):  # at-least-once delivery: the same post arrives three times
            c.insert("posts_raw", [post.row()], column_names=list(COLUMNS))
        assert c.query("SELECT count() FROM posts_raw FINAL").result_rows[0][0] == 1


HOLDER = textwrap.dedent("""
    import sys, time
    from warehouse.session import warehouse_session
    with warehouse_session(sys.argv[1]) as c:
        c.query("SELECT 1")
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_lock_serialises_processes(settings):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, settings.clickhouse_dsn, "2"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        with warehouse_session(settings.clickhouse_dsn, lock_timeout=30) as c:  # waits for the holder, no engine error
            assert c.query("SELECT 1").result_rows == [(1,)]
        assert time.monotonic() - t0 > 0.5
    finally:
        holder.wait(timeout=30)


def test_lock_timeout_is_one_clear_line(settings):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, settings.clickhouse_dsn, "5"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseError) as exc:
            with warehouse_session(settings.clickhouse_dsn, lock_timeout=0.3):
                pass
        assert "TSUR_WAREHOUSE_LOCK_TIMEOUT" in str(exc.value) and "\n" not in str(exc.value)
    finally:
        holder.wait(timeout=30)


def test_unreachable_server_is_one_clear_line():
    with pytest.raises(WarehouseError) as exc:
        open_client("http://127.0.0.1:9/default")
    assert "TSUR_CLICKHOUSE_DSN" in str(exc.value) and "\n" not in str(exc.value)
