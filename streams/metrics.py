"""Worker metrics in the Prometheus text format (served by Faust's web server at /metrics)."""
from __future__ import annotations

import time
from collections import deque
from datetime import datetime, timezone

# the stages of a batch of posts.raw, in order: validate; dead letters sent; enrichment (what +
# where); waiting for the batch before to be stored; the lookup of posts already stored; incidents
# (grouping, routing, deadlines); tension; the warehouse write (with the read of operators'
# corrections; it runs while the next batch is validated and enriched); the output messages sent
STAGES = ("parse", "dead_letters", "enrich", "write_wait", "lookup", "incidents", "tension", "insert", "send")


class Metrics:
    def __init__(self):
        self.started = time.monotonic()
        self.posts_in = 0
        self.posts_stored = 0
        self.dead_letters = 0
        self.incidents_touched = 0
        self.alerts = 0
        self.status_events = 0
        self.insert_retries = 0
        self.batches = 0
        self.batch_seconds = 0.0
        self.stage_seconds = dict.fromkeys(STAGES, 0.0)  # time of each stage of the batches, summed
        self.recent = deque(maxlen=120)                  # (monotonic time, events) for events/s
        self.latency = deque(maxlen=5000)                # seconds from ingest to stored
        self.missing_persons = 0                         # fast-lane alerts raised
        self.reopened = 0                                # incidents reopened because complaints continued
        self.alert_latency = deque(maxlen=1000)          # seconds from ingest to an alert delivered

    def batch(self, events: int, stored: int, dead: int, incidents: int, alerts: int, batch_s: float,
              stages: dict[str, float], ingested: list) -> None:
        self.batches += 1
        self.posts_in += events
        self.posts_stored += stored
        self.dead_letters += dead
        self.incidents_touched += incidents
        self.alerts += alerts
        self.batch_seconds += batch_s
        for stage, seconds in stages.items():
            self.stage_seconds[stage] += seconds
        self.recent.append((time.monotonic(), events))
        now = datetime.now(timezone.utc)
        self.latency.extend((now - t).total_seconds() for t in ingested)

    def alert_delivered(self, ingested_at: datetime) -> None:
        self.alert_latency.append((datetime.now(timezone.utc) - ingested_at).total_seconds())

    def rate(self) -> float:
        if len(self.recent) < 2:
            return 0.0
        span = self.recent[-1][0] - self.recent[0][0]
        return sum(n for _, n in list(self.recent)[1:]) / span if span > 0 else 0.0

    def summary(self) -> dict:
        return {"posts_in": self.posts_in, "stored": self.posts_stored, "dlq": self.dead_letters,
                "incidents_touched": self.incidents_touched, "alerts": self.alerts, "status_events": self.status_events,
                "insert_retries": self.insert_retries, "missing_persons": self.missing_persons, "reopened": self.reopened,
                "events_per_s": round(self.rate(), 1)}

    def render(self, lag: dict[str, int], sent: dict[str, int] | None = None, failed: dict[str, int] | None = None) -> str:
        lines = []

        def metric(name: str, kind: str, help_: str, value, labels: str = "") -> None:
            lines.append(f"# HELP tsur_{name} {help_}")
            lines.append(f"# TYPE tsur_{name} {kind}")
            lines.append(f"tsur_{name}{labels} {value}")

        metric("posts_received_total", "counter", "posts taken from posts.raw", self.posts_in)
        metric("posts_stored_total", "counter", "valid posts written to ClickHouse", self.posts_stored)
        metric("dead_letters_total", "counter", "messages sent to posts.dlq", self.dead_letters)
        metric("incident_updates_total", "counter", "incident rows written", self.incidents_touched)
        metric("alerts_total", "counter", "tension alerts raised", self.alerts)
        metric("status_events_total", "counter", "status events stored", self.status_events)
        metric("missing_person_alerts_total", "counter", "missing-person posts sent down the fast lane", self.missing_persons)
        metric("incidents_reopened_total", "counter", "resolved incidents reopened because complaints continued", self.reopened)
        metric("insert_retries_total", "counter", "ClickHouse insert retries", self.insert_retries)
        metric("events_per_second", "gauge", "posts per second over the last batches", round(self.rate(), 2))
        per_post = self.stage_seconds["enrich"] / self.posts_in if self.posts_in else 0.0
        metric("enrichment_seconds_per_post", "gauge", "mean enrichment time per post", f"{per_post:.6f}")
        metric("batch_seconds_total", "counter", "time spent processing batches", f"{self.batch_seconds:.3f}")
        lines.append("# HELP tsur_batch_stage_seconds_total time spent in each stage of the batches (streams/app.py)")
        lines.append("# TYPE tsur_batch_stage_seconds_total counter")
        for stage, seconds in self.stage_seconds.items():
            lines.append(f'tsur_batch_stage_seconds_total{{stage="{stage}"}} {seconds:.3f}')
        if self.latency:
            ordered = sorted(self.latency)
            for q in (0.5, 0.95):
                lines.append(f'tsur_ingest_to_store_seconds{{quantile="{q}"}} {ordered[int(q * (len(ordered) - 1))]:.3f}')
        lines.append("# HELP tsur_notifications_total alerts delivered to people, per channel and outcome")
        lines.append("# TYPE tsur_notifications_total counter")
        for channel in sorted(sent or {}):
            lines.append(f'tsur_notifications_total{{channel="{channel}",outcome="sent"}} {sent[channel]}')
            lines.append(f'tsur_notifications_total{{channel="{channel}",outcome="failed"}} {(failed or {}).get(channel, 0)}')
        if self.alert_latency:
            ordered = sorted(self.alert_latency)
            for q in (0.5, 0.95):
                lines.append(f'tsur_ingest_to_alert_seconds{{quantile="{q}"}} {ordered[int(q * (len(ordered) - 1))]:.3f}')
        lines.append("# HELP tsur_consumer_lag messages behind the end of each partition")
        lines.append("# TYPE tsur_consumer_lag gauge")
        for tp, v in sorted(lag.items()):
            lines.append(f'tsur_consumer_lag{{partition="{tp}"}} {v}')
        return "\n".join(lines) + "\n"
