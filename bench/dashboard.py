"""Benchmark of the built-in dashboard's queries over N synthetic incidents (default 10,000,000) in
chDB: the day heat map (live H3 tension cells), the SLA table (report_sla_daily per municipality)
the newest-incidents list and the alerts feed, each run 30 times; prints p50/p95 in ms of the SQL in
an open session and of the whole HTTP request through the FastAPI app (its warehouse lease shares
one session across a burst of requests; the heat map's 28-day baseline is cached per day and
sector, so both the cached and the uncached request are timed), and the peak RSS of the process
(chDB runs in it). Target: p95 ≤ 100 ms for the heat map and the SLA table.

The rows are generated inside ClickHouse (numbers() + INSERT … SELECT) from the region's
settlements weighted by population: incidents spread over --days days ending on the report day,
a second version for a fifth of them (the stream re-inserts an incident when posts join it),
status events for most of them, a few thousand tension alerts; then sla_daily is computed for
the report day the way the DAG does (timed, for information).

    .venvs/stream/bin/python bench/dashboard.py [--incidents 10000000] [--days 365] [--store DIR]

A kept store (--store, reused when it exists) gets the pending migrations first, timed: run the
benchmark, pull a schema change, run it again on the same rows to see what the change bought.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGION = "Краснодарский край"
DAY = date(2026, 11, 20)
SLOTS = 20_000          # settlements are drawn through a slot table weighted by population
RUNS = 30
TARGET_MS = 100.0
SECTORS = ["healthcare", "education", "transport", "roads", "energy", "housing", "waste", "social", "landscaping", "other"]


def load(dsn: str, incidents: int, days: int) -> None:
    import h3
    import numpy as np

    from geo.gazetteer import Gazetteer
    from warehouse.migrations import migrate
    from warehouse.session import warehouse_session

    t = Gazetteer.load().table
    towns = t[(t.region == REGION) & (t.population > 0)].reset_index(drop=True)
    weight = towns.population.to_numpy(float) ** 0.6
    counts = np.maximum(1, np.round(weight / weight.sum() * SLOTS)).astype(int)
    town_of_slot = np.repeat(np.arange(len(towns)), counts)
    slots = [[int(i), towns.municipality[k], towns.municipality_oktmo[k], towns.name[k], towns.oktmo[k], float(towns.lat[k]),
              float(towns.lon[k]), h3.latlng_to_cell(float(towns.lat[k]), float(towns.lon[k]), 8)]
             for i, k in enumerate(town_of_slot)]
    end = datetime(DAY.year, DAY.month, DAY.day, tzinfo=timezone(timedelta(hours=3))) + timedelta(days=1)
    start = end - timedelta(days=days)
    params = {"n": incidents, "start": start.astimezone(timezone.utc).replace(tzinfo=None), "span": days * 86_400,
              "slots": len(slots), "region": REGION, "sectors": SECTORS}
    t0 = time.perf_counter()
    with warehouse_session(dsn) as c:
        migrate(c, log=lambda m: None)
        c.command("CREATE TABLE bench_slots (slot UInt32, municipality String, oktmo String, settlement String, "
                  "settlement_oktmo String, lat Float64, lon Float64, h3 String) ENGINE = MergeTree ORDER BY slot")
        c.insert("bench_slots", slots, column_names=["slot", "municipality", "oktmo", "settlement", "settlement_oktmo", "lat", "lon", "h3"])
        # incidents: first_seen spread evenly over the days with a daily rhythm-free jitter; ids look like the stream's
        c.command("""
            INSERT INTO incidents (incident_id, region, municipality, oktmo, settlement, settlement_oktmo, lat, lon, h3, sector,
                                   sector_confidence, complaint_score, urgency, title, posts_count, first_seen, last_seen,
                                   responsible_body, first_answer_due, resolution_due, model_version, updated_at, place_key, source_url)
            SELECT substring(hex(cityHash64(n.number, 7)), 1, 20) AS incident_id, {region:String}, s.municipality, s.oktmo, s.settlement,
                   s.settlement_oktmo, s.lat, s.lon, s.h3, {sectors:Array(String)}[1 + cityHash64(n.number, 3) % 10] AS sector,
                   0.9, 0.9, if(cityHash64(n.number, 4) % 10 = 0, 0.7, 0.1), concat('Синтетическое обращение № ', toString(n.number)), 1,
                   toDateTime64({start:DateTime}, 3, 'UTC') + toIntervalMillisecond(intDiv(n.number * {span:UInt64} * 1000, {n:UInt64})) AS fs,
                   fs, concat('Администрация: ', s.municipality), fs + toIntervalHour(8), fs + toIntervalDay(9), 'bench',
                   fs + toIntervalMinute(1), concat('s:', s.settlement_oktmo), ''
            FROM numbers({n:UInt64}) AS n
            INNER JOIN bench_slots AS s ON s.slot = cityHash64(n.number, 1) % {slots:UInt32}
            SETTINGS max_insert_threads = 2""", parameters=params)
        # a later version of a fifth of them (more posts joined), as the stream writes it
        c.command("""
            INSERT INTO incidents SELECT * REPLACE (posts_count + 1 + cityHash64(incident_id) % 4 AS posts_count,
                                                    last_seen + toIntervalHour(3) AS last_seen, updated_at + toIntervalHour(3) AS updated_at)
            FROM incidents WHERE cityHash64(incident_id) % 5 = 0""")
        # status events: 90 % assigned, 80 % answered (median some hours), 45 % resolved, 5 % rejected
        c.command("""
            INSERT INTO incident_status_events (event_id, incident_id, status, actor, comment, at, received_at)
            SELECT concat(incident_id, '-', st) AS event_id, incident_id, st, 'оператор', '',
                   first_seen + toIntervalSecond(delay) AS at, at
            FROM (
                SELECT incident_id, first_seen, h,
                       arrayJoin([('assigned', 600 + h % 3600, h % 10 < 9), ('answered', 1800 + h % 50000, h % 10 < 8),
                                  ('resolved', 90000 + h % 600000, h % 20 < 9), ('rejected', 90000 + h % 600000, h % 20 = 9)]) AS e,
                       e.1 AS st, e.2 AS delay, e.3 AS happens
                FROM (SELECT incident_id, first_seen, cityHash64(incident_id, 9) AS h FROM incidents WHERE model_version = 'bench'
                      AND updated_at = first_seen + toIntervalMinute(1))
            ) WHERE happens AND at < toDateTime64({end:DateTime}, 3, 'UTC')""",
                  parameters={"end": end.astimezone(timezone.utc).replace(tzinfo=None)})
        c.command("""
            INSERT INTO alerts (alert_id, kind, region, municipality, oktmo, h3, sector, window_start, window_end, observed, baseline, created_at)
            SELECT concat('a', toString(number)), 'tension', {region:String}, s.municipality, s.oktmo, s.h3,
                   {sectors:Array(String)}[1 + cityHash64(number, 3) % 10],
                   toDateTime64({start:DateTime}, 3, 'UTC') + toIntervalSecond(intDiv(number * {span:UInt64}, 5000)) AS ws,
                   ws + toIntervalHour(3), 5 + number % 20, 0.4, ws + toIntervalHour(3)
            FROM numbers(5000) AS n INNER JOIN bench_slots AS s ON s.slot = cityHash64(n.number, 1) % {slots:UInt32}""",
                  parameters=params)
        c.command("DROP TABLE bench_slots")
        rows = c.query("SELECT (SELECT count() FROM incidents), (SELECT uniqExact(incident_id) FROM incidents), "
                       "(SELECT count() FROM incident_status_events), (SELECT count() FROM alerts)").result_rows[0]
    print(f"loaded {rows[1]:,} incidents ({rows[0]:,} rows with versions), {rows[2]:,} status events, {rows[3]:,} alerts "
          f"over {days} days in {time.perf_counter() - t0:.1f} s")


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[max(0, int(round(0.95 * len(s))) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=365, help="the incidents are spread over this many days ending on the report day")
    ap.add_argument("--store", help="keep the store in this directory (reused when it exists); default a temp dir, removed")
    args = ap.parse_args()
    os.environ.setdefault("TSUR_CACHE_DIR", str(ROOT / "data" / "cache"))
    tmp = None
    if args.store:
        store = Path(args.store).resolve()
    else:
        tmp = Path(tempfile.mkdtemp(prefix="tsur-bench-dashboard-"))
        store = tmp / "warehouse"
    dsn = f"chdb://{store}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUR_")}
    env.update({"TSUR_CLICKHOUSE_DSN": dsn, "TSUR_DATA_DIR": str(store.parent / "data"), "TSUR_REGIONS": REGION,
                "TSUR_PSEUDONYM_KEY": "bench-key-0123456789", "TSUR_CACHE_DIR": os.environ["TSUR_CACHE_DIR"]})
    try:
        run(dsn, env, store, args)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def run(dsn: str, env: dict, store: Path, args) -> None:
    from warehouse.lease import MAX_HOLD_S
    from reports import sla
    from warehouse.queries import named_query
    from warehouse.session import warehouse_session

    if not store.exists():
        load(dsn, args.incidents, args.days)
        t0 = time.perf_counter()
        with warehouse_session(dsn) as c:
            sla.build(c, DAY, REGION)
        print(f"sla_daily build for {DAY} (the DAG's step, for information): {time.perf_counter() - t0:.1f} s")
    else:                                   # a kept store: bring its schema up to date (a rebuild is timed here)
        from warehouse.migrations import migrate

        t0 = time.perf_counter()
        with warehouse_session(dsn) as c:
            done = migrate(c, log=lambda m: None)
        if done:
            print(f"migrations applied to the kept store ({', '.join(m.path.name for m in done)}): "
                  f"{time.perf_counter() - t0:.1f} s")
    build_heatmap_products(dsn)
    t0 = time.perf_counter()
    with warehouse_session(dsn) as c:       # time a store in its steady state, not one busy merging the load
        while c.query("SELECT count() FROM system.merges").result_rows[0][0] and time.perf_counter() - t0 < 300:
            time.sleep(2)
    print(f"background merges settled after {time.perf_counter() - t0:.0f} s")

    from api import queries
    from api.app import create_app
    from tsur.config import Settings

    settings = Settings.from_env(env)
    hm = {"region": REGION, "day": DAY, "sector": "all", "resolution": 7}
    cases = [
        ("heat map: the day's cells", lambda c: c.query(named_query("dashboard_heatmap_day"), parameters=hm).result_rows),
        ("heat map: 28-day baseline", lambda c: c.query(named_query("dashboard_heatmap_baseline"), parameters=hm).result_rows),
        ("heat map, uncached (all sectors)", lambda c: queries.heatmap_cells(c, REGION, DAY, "all", 7)),
        ("heat map, uncached (one sector)", lambda c: queries.heatmap_cells(c, REGION, DAY, "housing", 8)),
        ("SLA table", lambda c: queries.sla_table(c, REGION, DAY)),
        ("newest incidents (50)", lambda c: queries.incidents(c, REGION, DAY, "all", 50)),
        ("alerts feed", lambda c: queries.alerts(c, REGION, DAY, "all", 50)),
    ]
    print(f"\nSQL in an open session, {RUNS} runs each after one warm-up run:")
    results = {}
    with warehouse_session(dsn) as c:
        for name, fn in cases:
            rows = fn(c)
            p50, p95 = timed(lambda: fn(c))
            results[name] = p95
            print(f"  {name:<34} {len(rows):>6} rows   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")

    from fastapi.testclient import TestClient

    q = {"region": REGION, "day": DAY.isoformat()}
    urls = [("heat map (baseline warm)", "/api/heatmap", {**q, "sector": "all", "resolution": 7}, False),
            ("heat map (baseline cold)", "/api/heatmap", {**q, "sector": "all", "resolution": 7}, True),
            ("SLA table", "/api/sla", q, False), ("newest incidents", "/api/incidents", {**q, "sector": "all"}, False),
            ("alerts feed", "/api/alerts", {**q, "sector": "all"}, False)]
    print(f"\nHTTP requests through the app (one warehouse session shared by a burst, reopened every "
          f"{MAX_HOLD_S:g} s), {RUNS} runs each:")
    app = create_app(settings)
    with TestClient(app) as http:
        ctx = app.state.tsur
        t0 = time.perf_counter()        # the app warms today's baselines at start: let it finish first
        while len(ctx.baselines) < 2 * (1 + len(SECTORS)) and time.perf_counter() - t0 < 120:
            time.sleep(0.2)
        print(f"  (the app's baseline warm-up: {len(ctx.baselines)} baselines in {time.perf_counter() - t0:.1f} s)")
        for name, url, params, cold in urls:
            assert http.get(url, params=params).status_code == 200

            def call():
                if cold:
                    ctx.baselines.clear()
                r = http.get(url, params=params)
                assert r.status_code == 200, r.text

            opened = ctx.lease.opened
            p50, p95 = timed(call)
            results["HTTP " + name] = p95
            print(f"  {name:<34}   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (sessions opened: {ctx.lease.opened - opened})")
    t0 = time.perf_counter()
    with warehouse_session(dsn):
        pass
    print(f"\nopening + closing a warehouse session on this store: {(time.perf_counter() - t0) * 1000:.0f} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MB (chDB runs in this process)")
    for name in ("heat map, uncached (all sectors)", "heat map, uncached (one sector)", "SLA table",
                 "HTTP heat map (baseline warm)", "HTTP heat map (baseline cold)", "HTTP SLA table"):
        verdict = "met" if results[name] <= TARGET_MS else "MISSED"
        print(f"target p95 ≤ {TARGET_MS:.0f} ms, {name}: {verdict} ({results[name]:.1f} ms)")


def build_heatmap_products(dsn: str) -> None:
    """The heatmap_daily DAG's step for each of the 28 days before the report day that has no product
    yet: the dashboard's baseline reads the product of past days (live counting is the slow path)."""
    from reports import heatmap
    from warehouse.session import warehouse_session

    with warehouse_session(dsn) as c:
        have = {r[0] for r in c.query("SELECT DISTINCT day FROM report_heatmap_daily WHERE region = {r:String}",
                                      parameters={"r": REGION}).result_rows}
        missing = [DAY - timedelta(days=k) for k in range(28, 0, -1) if DAY - timedelta(days=k) not in have]
        if not missing:
            return
        t0 = time.perf_counter()
        for i, day in enumerate(missing, 1):
            heatmap.build(c, day, REGION)
            print(f"  heat-map product {day}: {i}/{len(missing)}, {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"heatmap_daily products of {len(missing)} days built in {time.perf_counter() - t0:.0f} s "
          f"({(time.perf_counter() - t0) / len(missing):.1f} s a day)", flush=True)


def timed(fn) -> tuple[float, float]:
    samples = []
    for _ in range(RUNS):
        t1 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t1) * 1000)
    return percentiles(samples)


if __name__ == "__main__":
    main()
