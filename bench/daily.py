"""Benchmark of the daily products: heatmap_daily + sla_daily + regional_rollup compute for one
region-day with N incidents (default 1,000,000) in chDB, as the DAG tasks run them (without
Airflow start-up). The maps and SLA reports are mapped tasks in the DAGs: here their reads run one
after another in this process (the store is one process's at a time) and their drawing/rendering
runs in a pool of --workers processes, as an executor with that many slots runs them. Prints the
wall time of each step (reads and rendering apart), the wall time in all and the peak memory.

    .venvs/stream/bin/python bench/daily.py [--incidents 1000000] [--workers 2]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REGION = "Краснодарский край"
DAY = date(2026, 11, 20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="processes that render maps and reports at once (default: the CPU count, %(default)s)")
    args = ap.parse_args()
    os.environ.setdefault("TSUR_CACHE_DIR", str(Path(__file__).resolve().parents[1] / "data" / "cache"))
    import h3
    import numpy as np
    import pandas as pd

    from geo.gazetteer import Gazetteer
    from geo.municipal_areas import MunicipalAreas
    from reports import heatmap, rollup, sla
    from streams.pipeline import INCIDENT_COLUMNS
    from streams.status_events import STATUS_COLUMNS
    from warehouse.migrations import migrate
    from warehouse.session import warehouse_session

    dsn = f"chdb://{tempfile.mkdtemp(prefix='tsur-bench-daily-')}/warehouse"
    rng = np.random.default_rng(1)
    t = Gazetteer.load().table
    towns = t[(t.region == REGION) & (t.population > 0)].reset_index(drop=True)
    w = towns.population.to_numpy(float) ** 0.6
    idx = rng.choice(len(towns), size=args.incidents, p=w / w.sum())
    cells = np.array([h3.latlng_to_cell(la, lo, 8) for la, lo in zip(towns.lat, towns.lon)])
    sectors = np.array(["healthcare", "education", "transport", "roads", "energy", "housing", "waste", "social", "landscaping", "other"])
    start = datetime(2026, 11, 20, tzinfo=timezone(timedelta(hours=3))).astimezone(timezone.utc)
    first = pd.to_datetime(start) + pd.to_timedelta(rng.integers(0, 86_400, args.incidents), unit="s")
    n = args.incidents
    df = pd.DataFrame({
        "incident_id": [f"b{i:08d}" for i in range(n)], "region": REGION, "municipality": towns.municipality.to_numpy()[idx],
        "oktmo": towns.municipality_oktmo.to_numpy()[idx], "settlement": towns.name.to_numpy()[idx], "settlement_oktmo": towns.oktmo.to_numpy()[idx],
        "lat": towns.lat.to_numpy()[idx], "lon": towns.lon.to_numpy()[idx], "h3": cells[idx], "sector": sectors[rng.integers(0, 10, n)],
        "sector_confidence": 0.9, "complaint_score": 0.9, "urgency": 0.0, "title": "Инцидент", "posts_count": 1,
        "first_seen": first, "last_seen": first, "responsible_body": "Администрация " + towns.municipality.to_numpy()[idx],
        "first_answer_due": first + pd.Timedelta(hours=8), "resolution_due": first + pd.Timedelta(days=9), "model_version": "bench",
        "updated_at": pd.Timestamp.now(tz="UTC"), "place_key": "", "signature": [[] for _ in range(n)],
        "urgency_reasons": [[] for _ in range(n)], "source_url": "", "needs_review": 0, "reopened": 0,
    })
    ans = rng.random(n) < 0.8
    ev = pd.DataFrame({"event_id": [f"e{i}" for i in np.flatnonzero(ans)], "incident_id": df.incident_id[ans].to_numpy(), "status": "answered",
                       "actor": "", "comment": "", "at": first[ans] + pd.to_timedelta(rng.exponential(6 * 3600, ans.sum()), unit="s"),
                       "received_at": pd.Timestamp.now(tz="UTC"), "sector": ""})
    posts = pd.DataFrame({"post_id": df.incident_id, "incident_id": df.incident_id, "created_at": first, "region": REGION,
                          "is_complaint": 1, "sector": df.sector})
    t0 = time.perf_counter()
    with warehouse_session(dsn) as c:
        migrate(c, log=lambda m: None)
        c.insert_df("incidents", df[list(INCIDENT_COLUMNS)])
        c.insert_df("incident_status_events", ev[list(STATUS_COLUMNS)])
        c.insert_df("posts_enriched", posts)
    print(f"loaded {n:,} incidents, {len(ev):,} status events in {time.perf_counter() - t0:.1f} s")
    out = Path(tempfile.mkdtemp(prefix="tsur-bench-reports-"))
    steps, peaks = [], [0]
    areas = MunicipalAreas().region(REGION)
    # spawned, not forked: a fork would copy this process's running chDB engine
    with warehouse_session(dsn) as c, ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_warm, range(args.workers)))  # imports done in every worker beforehand (not timed)

        def maps():
            start = time.perf_counter()
            targets = heatmap.targets(c, DAY, REGION, areas)
            frames = [heatmap.load(c, DAY, REGION, t["municipality"]) for t in targets]
            reads = time.perf_counter() - start
            peaks.extend(pool.map(_draw, frames, [areas] * len(targets), targets, [out] * len(targets)))
            return f"({len(targets)} maps; reads {reads:.1f} s, drawing {time.perf_counter() - start - reads:.1f} s)"

        def reports():
            start = time.perf_counter()
            data = [sla.load(c, DAY, REGION, **m) for m in sla.municipalities(c, DAY, REGION)]
            reads = time.perf_counter() - start
            peaks.extend(pool.map(_write, data, [out] * len(data)))
            return f"({len(data)} reports; reads {reads:.1f} s, rendering {time.perf_counter() - start - reads:.1f} s)"

        t0 = time.perf_counter()
        for name, fn in [
            ("heatmap_daily build", lambda: heatmap.build(c, DAY, REGION)),
            ("heatmap_daily maps", maps),
            ("sla_daily build", lambda: sla.build(c, DAY, REGION)),
            ("sla_daily reports", reports),
            ("regional_rollup", lambda: rollup.build_report(c, DAY, REGION, out)),
        ]:
            t1 = time.perf_counter()
            detail = fn()
            steps.append((name, time.perf_counter() - t1, detail if isinstance(detail, str) else ""))
        wall = time.perf_counter() - t0
    for name, s, detail in steps:
        print(f"{name:<22} {s:6.1f} s {detail}")
    print(f"wall {wall:.1f} s with {args.workers} rendering processes; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (this process), "
          f"{max(peaks) / 1024:.0f} MB (largest rendering process)")


def _warm(_: int) -> None:
    import reports.heatmap  # noqa: F401
    import reports.render  # noqa: F401


def _peak_kb() -> int:
    """This process's peak resident memory (VmHWM: since its exec, unlike ru_maxrss, which a spawned
    child inherits from the fork of this big process)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _draw(frames, areas, target, out) -> int:
    from reports import heatmap

    heatmap.draw(frames, areas, DAY, REGION, target["municipality"], target["scope"], out)
    return _peak_kb()


def _write(data, out) -> int:
    from reports import sla

    sla.write(data, out)
    return _peak_kb()


if __name__ == "__main__":
    main()
