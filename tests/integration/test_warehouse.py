"""chDB through clickhouse-connect: migrations, the cross-process lock, idempotent storage."""
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone

import pytest

from warehouse.migrations import applied, discover, migrate, pending
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


def test_the_heat_map_rebuild_keeps_its_rows_and_takes_the_monthly_layout(settings, tmp_path):
    """0014 rebuilds report_heatmap_daily partitioned by month (new table, copy, EXCHANGE, drop) on a
    store that already holds products; a run interrupted after the copy is finished by the next one."""
    import shutil
    from datetime import date

    from warehouse.migrations import MIGRATIONS_DIR

    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) < 14:
            shutil.copy(path, before / path.name)
    cols = ["day", "region", "resolution", "h3", "sector", "municipality", "settlement", "incidents", "posts",
            "baseline", "tension", "lat", "lon", "computed_at"]
    now = datetime.now(timezone.utc)
    rows = [[date(2026, m, d), "Курская область", 8, f"88{m:02d}{d:02d}", "all", "город Курск", "Курск", d, 2 * d,
             1.0, (d + 1) / 2, 51.7, 36.2, now] for m in (10, 11) for d in (1, 15, 28)]
    layout = ("SELECT partition_key, sorting_key FROM system.tables WHERE database = currentDatabase() "
              "AND name = 'report_heatmap_daily'")
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, directory=before, log=lambda m: None)
        c.insert("report_heatmap_daily", rows, column_names=cols)
        assert c.query(layout).result_rows == [("day", "day, region, resolution, sector, h3")]
        (rebuild,) = [m for m in discover() if m.version == 14]
        for statement in rebuild.statements()[:2]:      # the new table and the copy, then "interrupted"
            c.command(statement)
        assert [m.path.name for m in migrate(c, log=lambda m: None)] == ["0014_heatmap_by_month.sql"]
        assert c.query(layout).result_rows == [("toYYYYMM(day)", "region, resolution, sector, day, h3")]
        tables = {r[0] for r in c.query("SHOW TABLES").result_rows}
        assert "report_heatmap_daily_by_month" not in tables
        read = "SELECT day, h3, incidents, posts FROM report_heatmap_daily FINAL ORDER BY day"
        assert c.query(read).result_rows == [(r[0], r[3], r[7], r[8]) for r in rows]
        assert c.query("SELECT count(DISTINCT _partition_id) FROM report_heatmap_daily").result_rows == [(2,)]


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


def test_a_held_session_is_given_back_only_when_another_process_waits(settings):
    """warehouse.lease keeps its session open while no one else wants the store (reopening costs
    60–400 ms), and gives it back within ``max_hold`` once another process waits for the lock."""
    from warehouse.lease import WarehouseLease
    from warehouse.session import lock_path, others_waiting, waiting_dir

    dsn = settings.clickhouse_dsn
    lease = WarehouseLease(dsn, 60, linger=1.0, max_hold=0.5)
    one = lambda c: c.query("SELECT 1").result_rows    # noqa: E731
    try:
        end = time.monotonic() + 2.0
        while time.monotonic() < end:                  # busy for 4× max_hold, nobody waiting
            lease.run(one)
            time.sleep(0.05)
        assert lease.opened == 1
        waiter = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import time
            from warehouse.session import warehouse_session
            t = time.monotonic()
            with warehouse_session({dsn!r}, 30) as c:
                c.query("SELECT 1")
            print(time.monotonic() - t)
            """)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while waiter.poll() is None:
            lease.run(one)
            time.sleep(0.05)
        out, err = waiter.communicate()
        assert waiter.returncode == 0, err
        assert float(out) < 5.0                        # max_hold 0.5 s + its own open of the store
        assert lease.opened >= 2                       # gave the store back, then opened it again
    finally:
        lease.close()
    marks = waiting_dir(lock_path(dsn))
    assert not list(marks.iterdir())                   # the waiter took its mark away
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (marks / f"{dead.pid}-1").touch()                  # the mark of a process killed while it waited
    assert not others_waiting(dsn) and not list(marks.iterdir())


def test_published_listing_is_emptied_per_region_day_and_a_retried_scope_is_listed_once(settings, tmp_path):
    """reports.artifacts.publish: without a scope it replaces the region-day's listing; with one it only
    adds (the mapped DAGs empty the listing first), and a retried scope's files are listed once."""
    from datetime import date

    from reports.artifacts import publish

    day, other = date(2026, 11, 20), date(2026, 11, 21)
    listing = ("SELECT scope, path FROM published_reports FINAL WHERE day = {d:Date} AND product = 'sla' "
               "ORDER BY scope, path")
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        publish(c, other, "R", "sla", [("01", tmp_path / "old.pdf")], scope="01")
        for oktmo in ("01", "02", "01"):                         # "01" retried
            publish(c, day, "R", "sla", [(oktmo, tmp_path / f"sla-{oktmo}.pdf"), ("99", tmp_path / "not-mine.pdf")],
                    scope=oktmo)
        assert c.query(listing, parameters={"d": day}).result_rows == [
            ("01", str(tmp_path / "sla-01.pdf")), ("02", str(tmp_path / "sla-02.pdf"))]
        assert publish(c, day, "R", "sla", []) == 0                # a re-run of the day starts empty …
        assert c.query(listing, parameters={"d": day}).result_rows == []
        assert c.query(listing, parameters={"d": other}).result_rows == [("01", str(tmp_path / "old.pdf"))]  # … that day only
