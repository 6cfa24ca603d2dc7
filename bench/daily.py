"""Benchmark of the daily products: heatmap_daily + sla_daily + regional_rollup compute for one
region-day with N incidents (default 1,000,000) in chDB, as the DAG tasks run them (without
Airflow start-up). Prints the time of each step and the peak memory of the process.

    .venvs/stream/bin/python bench/daily.py [--incidents 1000000]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REGION = "Краснодарский край"
DAY = date(2026, 11, 20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incidents", type=int, default=1_000_000)
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
        "urgency_reasons": [[] for _ in range(n)], "source_url": "", "needs_review": 0,
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
    steps = []
    with warehouse_session(dsn) as c:
        for name, fn in [
            ("heatmap_daily build", lambda: heatmap.build(c, DAY, REGION)),
            ("heatmap_daily render", lambda: heatmap.render(c, DAY, REGION, out, MunicipalAreas())),
            ("sla_daily build", lambda: sla.build(c, DAY, REGION)),
            ("sla_daily render", lambda: sla.render(c, DAY, REGION, out)),
            ("regional_rollup", lambda: rollup.build_report(c, DAY, REGION, out)),
        ]:
            t1 = time.perf_counter()
            fn()
            steps.append((name, time.perf_counter() - t1))
    for name, s in steps:
        print(f"{name:<22} {s:6.1f} s")
    print(f"total compute {sum(s for _, s in steps):.1f} s (SQL {steps[0][1] + steps[2][1]:.1f} s); "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
