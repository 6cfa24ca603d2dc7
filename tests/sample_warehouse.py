"""A chDB store filled with the sample feed through the stream's own pure core (parse → enrich →
incidents → routing → tension alerts), plus simulated operators and the daily heat-map/SLA tables:
what dashboard, API and analyst-query tests read. Built once per test session (≈ 20 s), copied per test."""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REGION = "Краснодарский край"
DAYS = 3
END = date(2026, 11, 20)


def build(store_dir: Path, pseudonym_key: bytes = b"test-key") -> dict:
    """Fill a fresh chDB store at ``store_dir`` (the chdb:/// path). Returns a summary dict."""
    from enrichment.enricher import Enricher
    from intake.sample import generate
    from reports import heatmap, posts_daily, sla
    from streams.incident_builder import IncidentBuilder
    from streams.pipeline import enrich_batch, parse_batch
    from streams.routing import make_route
    from streams.status_events import STATUS_COLUMNS, parse_status_event
    from streams.tension import ALERT_COLUMNS, TensionMonitor, alert_rows
    from tsur.operator_simulator import status_events
    from warehouse.migrations import migrate
    from warehouse.session import warehouse_session

    dsn = f"chdb://{store_dir}"
    posts = list(generate(REGION, DAYS, seed=7, per_day=250, end=END))
    enricher, route, builder, tension = Enricher.load(), make_route(), IncidentBuilder(), TensionMonitor()
    now = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
    with warehouse_session(dsn) as client:
        migrate(client, log=lambda m: None)
        for i in range(0, len(posts), 500):
            chunk = posts[i:i + 500]
            result = parse_batch(((json.dumps(p, ensure_ascii=False).encode(), 0, i + j) for j, p in enumerate(chunk)),
                                 pseudonym_key, now=now)
            enrich_batch(result, enricher, builder, route, {}, now)
            found = [a for a in (tension.observe(k, s, t) for k, s, t in result.complaints) if a]
            for table, rows, columns in result.warehouse_batches(now) + [("alerts", alert_rows(found, now), ALERT_COLUMNS)]:
                if rows:
                    client.insert(table, rows, column_names=list(columns))
        incidents = client.query("SELECT incident_id, first_seen, first_answer_due, resolution_due, responsible_body "
                                 "FROM incidents FINAL").result_rows
        rows = [parse_status_event(e, now) for e in status_events(incidents, now, seed=7)]
        rows = [r for r in rows if not isinstance(r, str)]
        client.insert("incident_status_events", rows, column_names=list(STATUS_COLUMNS))
        for d in (END - timedelta(days=k) for k in range(DAYS)):
            posts_daily.build(client, d)
            heatmap.build(client, d, REGION)
            sla.build(client, d, REGION)
        alerts = client.query("SELECT count() FROM alerts FINAL").result_rows[0][0]
    return {"dsn": dsn, "posts": len(posts), "incidents": len(incidents), "status_events": len(rows),
            "alerts": alerts, "region": REGION, "day": END}


def copy_store(src: Path, dst: Path) -> str:
    """A private copy of a store, keeping symlinks (chDB's Atomic database links metadata/default to
    store/…; following the link would give a copy without tables)."""
    shutil.copytree(src, dst, symlinks=True)
    return f"chdb://{dst}"
