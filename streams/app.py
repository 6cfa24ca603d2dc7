"""The Faust app: topics and agents of the real-time path.

Run it with ``tsur worker`` (or ``python -m streams.app worker -l info``). Configuration comes
from the environment (tsur.config.Settings): broker URL, topic names, partitions, batch bounds.

posts.raw → ``process_posts``: validate (bad input → posts.dlq with a reason), enrich (what +
where), group complaints into incidents, route them and set deadlines, watch for tension bursts;
then one batched write to ClickHouse (posts_raw, posts_enriched, incidents, alerts) and only then
the batch is acknowledged (offsets committed) and incidents.enriched / alerts are published.
incidents.status → ``store_status_events``. alerts → ``deliver_alerts`` (e-mail, webhook, Telegram:
streams/notify.py), for the kinds configured (the missing-person fast lane by default).

Delivery is at-least-once: ids are deterministic and tables are ReplacingMergeTree, so a
redelivered message is stored once; a replayed post keeps its incident. The stream's state
(open incidents, tension baseline) is rebuilt from ClickHouse on start, never from changelogs.
"""
from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import faust

from streams import kafka_transport, state
from streams.incident_builder import WINDOW, IncidentBuilder
from streams.metrics import Metrics
from streams.notify import Channels, Notifier, parse_alert
from streams.pipeline import (
    INCIDENT_COLUMNS,
    apply_corrections,
    assign_incidents,
    enrich_and_detect,
    enrich_posts,
    incident_message,
    parse_batch,
    payload_preview,
    rerouted_row,
)
from streams.status_events import STATUS_COLUMNS, parse_status_event
from streams.tension import ALERT_COLUMNS, TensionMonitor, alert_rows
from tsur.config import Settings
from warehouse.batch_writer import BatchWriter
from warehouse.session import WarehouseError

log = logging.getLogger("tsur.worker")
settings = Settings.from_env()
kafka_transport.ConsumerThread.fetch_wait_ms = settings.fetch_wait_ms

app = faust.App(
    "tsur",
    broker=kafka_transport.faust_broker_url(settings.broker_url),
    value_serializer="raw",
    key_serializer="raw",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=1,
    topic_disable_leader=True,
    store="memory://",
    datadir=str(settings.data_dir / "faust"),
    web_host="127.0.0.1",
    web_port=settings.worker_web_port,
    consumer_auto_offset_reset="earliest",
    # Tansu completes a group join after about half the rebalance timeout: keep both short.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
    broker_rebalance_timeout=10.0,
    broker_commit_interval=1.0,
    producer_acks=-1,
    # one produce request is one object in the durable broker's bucket: fewer, larger batches
    producer_max_batch_size=1_048_576,
    producer_linger_ms=5,
)

posts_raw = app.topic(settings.topics["posts_raw"], value_type=bytes, partitions=settings.topic_partitions)
incidents_enriched = app.topic(settings.topics["incidents_enriched"], value_type=bytes, partitions=settings.topic_partitions)
incidents_status = app.topic(settings.topics["incidents_status"], value_type=bytes, partitions=settings.topic_partitions)
alerts = app.topic(settings.topics["alerts"], value_type=bytes, partitions=settings.topic_partitions)
posts_dlq = app.topic(settings.topics["posts_dlq"], value_type=bytes, partitions=settings.topic_partitions)

writer = BatchWriter(settings.clickhouse_dsn, settings.warehouse_lock_timeout)
metrics = Metrics()
RETRY_MIN, RETRY_MAX = 0.5, 30.0
STATUS_REFRESH_S = 5.0          # how often the stream reads operators' new status events (reopening)
STATUS_OVERLAP = timedelta(seconds=60)   # re-read events stored this long before the last seen (clock skew)


class Core:
    """What the agent needs loaded before the first batch (enricher, routing, rebuilt state)."""

    def __init__(self):
        self.ready = asyncio.Event()
        self._models_lock = threading.Lock()
        self.enrich = None                          # inputs → (enrichments, missing-person results, signatures)
        self.process = None                         # the enrichment process, when there is one
        self.route = None
        self.builder = IncidentBuilder(reopen_window=REOPEN)
        self.tension = TensionMonitor()
        self.status_since: datetime | None = None   # status events stored after this are not applied yet
        self.status_read = 0.0                      # monotonic time of the last read
        self.partitions: set[int] | None = None     # posts.raw partitions this worker holds
        self.stale = False                          # a rebalance changed them: rebuild before the next batch

    def load_models(self) -> None:
        """Import and load the enricher and routing (≈ 10 s here, mostly imports): no I/O but files.
        ``main`` starts this in a thread before Faust starts, so it overlaps the group join. The
        enricher lives in the enrichment process (streams/enrich_process.py) unless
        TSUR_ENRICH_PROCESS is off."""
        with self._models_lock:
            if self.enrich is not None:
                return
            from streams.routing import make_route

            t0 = time.perf_counter()
            self.route = make_route()
            if settings.enrich_process:
                from streams.enrich_process import EnrichmentProcess

                self.process = EnrichmentProcess(settings.place_region_centre, settings.sector_model)
                version = self.process.start()
                self.enrich = self.process.enrich
                where = "in the enrichment process"
            else:
                from enrichment.enricher import Enricher

                enricher = Enricher.load(region_centre=settings.place_region_centre, sector_model=settings.sector_model)
                version, self.enrich, where = enricher.version, partial(enrich_and_detect, enricher), "in the worker"
            log.info("models loaded in %.1f s (%s, %s)", time.perf_counter() - t0, version, where)

    def close(self) -> None:
        if self.process is not None:
            self.process.close()

    def load(self) -> None:
        self.load_models()
        self.rebuild_state()

    def rebuild_state(self) -> None:
        """Open incidents and the tension baseline from ClickHouse (the system of record): at start
        and after a rebalance gave this worker partitions another worker was writing."""
        t0 = time.perf_counter()
        builder, tension = IncidentBuilder(reopen_window=REOPEN), TensionMonitor()
        since = datetime.now(timezone.utc) - STATUS_OVERLAP

        def read(client) -> None:
            builder.restore(state.open_incidents(client, WINDOW, REOPEN))
            tension.restore(state.recent_complaints(client), state.active_alerts(client))

        writer.run(read)
        self.builder, self.tension, self.status_since = builder, tension, since
        log.info("state rebuilt in %.1f s (%d open incidents)", time.perf_counter() - t0, len(builder.by_id))


REOPEN = timedelta(days=settings.reopen_days)
core = Core()


def spool_payloads(payloads: list[bytes]) -> Path:
    """Save payloads of a batch that could not be stored before shutdown; re-published on start."""
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    path = settings.spool_dir / f"posts.raw-{time.time_ns()}.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for p in payloads:
            fh.write(json.dumps({"payload": bytes(p).decode("utf-8", "surrogateescape")}, ensure_ascii=False) + "\n")
    return path


def spool_on_stop(payloads: list[bytes], state: str) -> None:
    """The worker stops with a batch unstored: its events stay unacknowledged (the broker delivers
    them again) and its payloads are spooled too, for a memory broker that restarted empty."""
    path = spool_payloads(payloads)
    log.warning("stopping with %d posts %s; spooled to %s for re-publishing", len(payloads), state, path)


async def until_stored(fn, *args) -> object:
    """Run a warehouse call with exponential backoff until it succeeds; the stream waits (backpressure)."""
    delay = RETRY_MIN
    while True:
        try:
            return await asyncio.to_thread(fn, *args)
        except WarehouseError as exc:
            metrics.insert_retries += 1
            log.warning("warehouse unavailable (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


async def send_all(topic, messages: list[tuple[bytes, bytes]]) -> None:
    """Hand (key, value) messages to the producer, which batches them per partition: straight to
    Faust's producer (one call per message, not Faust's per-message FutureMessage and sensors,
    ≈ 4× cheaper here). Like ``Topic.send``, this returns once they are queued for sending; the
    rows they announce are stored already."""
    name = topic.get_topic_name()
    send = app.producer.send
    for key, value in messages:
        await send(name, key, value, None, None, None)


def _lookup(post_ids: list[str], status_since: datetime | None) -> tuple[dict, list, list]:
    """The posts of a batch already stored (post id → incident id); with ``status_since``, also the
    incidents whose status changed since then and those of them that were resolved but are not held
    by the builder (to be restored, so that continued complaints reopen them)."""
    def read(client):
        known = state.known_posts(client, post_ids)
        if status_since is None:
            return known, [], []
        changes = state.status_changes(client, status_since)
        resolved = [iid for iid, status, _, _ in changes if status == "resolved" and iid not in core.builder.by_id]
        return known, changes, state.open_incidents(client, WINDOW, REOPEN, ids=resolved) if resolved else []
    return writer.run(read)


def apply_status_changes(changes: list, restored: list) -> None:
    """Operators' statuses into the builder: a resolution arms the reopening, anything else disarms it."""
    core.builder.restore(restored)
    for iid, status, at, received in changes:
        core.builder.set_status(iid, status, at)
        core.status_since = max(core.status_since, received - STATUS_OVERLAP)


@app.on_partitions_assigned.connect
async def on_partitions_assigned(app, assigned, **kwargs) -> None:
    """With several workers, a rebalance moves partitions (and so regions' incidents) between them:
    the state other workers wrote meanwhile must be read back before this worker goes on."""
    mine = {tp.partition for tp in assigned if tp.topic == posts_raw.get_topic_name()}
    log.info("posts.raw partitions assigned: %s", sorted(mine))
    gained = mine - (core.partitions or set())
    if gained and core.ready.is_set():      # before that, the start-up load reads the state anyway
        core.stale = True
        log.info("rebalance: gained posts.raw partitions %s (now %s); state will be rebuilt", sorted(gained), sorted(mine))
    core.partitions = mine


def hold(events) -> None:
    """Keep Faust from acknowledging these events when the agent takes the next batch: they are
    acknowledged by ``release`` once stored (or dead-lettered), which may be after that."""
    for e in events:
        e.message.incref()


def release(events) -> None:
    """Acknowledge held events (their offsets may be committed now)."""
    for e in events:
        e.message.ack(app.consumer)


class Flight:
    """The batches past validation: at most one being enriched and assigned to incidents
    (``assigning``) and one being written, then sent and acknowledged (``writing``)."""

    def __init__(self):
        self.assigning: asyncio.Task | None = None
        self.writing: asyncio.Task | None = None

    async def assigned(self) -> None:
        """Wait until the batch being assigned is assigned and its writing started."""
        self.assigning = await finished(self.assigning)

    async def written(self) -> None:
        """Wait until the batch being written is stored, sent and acknowledged."""
        self.writing = await finished(self.writing)

    async def drain(self) -> None:
        await self.assigned()
        await self.written()

    async def cancel(self) -> None:
        """Stopping: the batches in flight are cancelled and spool their posts (``assign_batch``,
        ``store_batch``); their events stay unacknowledged."""
        tasks = [t for t in (self.assigning, self.writing) if t is not None and not t.done()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
        self.assigning = self.writing = None


@app.agent(posts_raw, concurrency=1)
async def process_posts(stream):
    """posts.raw → validate → enrich → incidents → ClickHouse → incidents.enriched, alerts.

    Three batches are in flight at a time: batch N is written (then its messages sent and its
    events acknowledged: ``store_batch``); batch N+1 is assigned to incidents (``assign_batch``: once
    it is enriched and batch N is stored, the lookup of stored posts, incidents, tension); batch N+2
    is validated and handed to the enrichment process. The warehouse and the enrichment process work
    outside the worker's GIL, so the three overlap. Everything that reads or changes the stream's
    state waits until the batch before is stored, and the batches are assigned one after another, so
    they change the state in order, as one at a time would."""
    await core.ready.wait()
    flight = Flight()
    try:
        async for events in stream.take_events(settings.sink_batch_size, within=settings.sink_batch_seconds):
            hold(events)
            payloads = [e.value for e in events]
            enriching = None
            try:
                if core.stale:
                    await flight.drain()
                    core.stale = False
                    await until_stored(core.rebuild_state)
                t0 = time.perf_counter()
                result = parse_batch(((e.value, e.message.partition, e.message.offset) for e in events),
                                     settings.pseudonym_key, topic=posts_raw.get_topic_name())
                stages = {"parse": time.perf_counter() - t0}
                t = time.perf_counter()
                for dead in result.dead_letters:
                    await posts_dlq.send(value=json.dumps(dead.to_json(), ensure_ascii=False).encode())
                stages["dead_letters"] = time.perf_counter() - t
                enriching = asyncio.ensure_future(asyncio.to_thread(enrich_posts, result, core.enrich))
                await flight.assigned()         # the batch before: assigned, its writing started
            except asyncio.CancelledError:
                if enriching is not None:
                    enriching.cancel()
                spool_on_stop(payloads, "being validated")
                raise
            flight.assigning = asyncio.create_task(assign_batch(flight, events, payloads, result, enriching, stages, t0))
        await flight.drain()        # the stream ended (the worker stops): finish the batches in flight
    except asyncio.CancelledError:
        # stopping: the batches in flight are cancelled too, and spool their posts
        await flight.cancel()
        raise


async def assign_batch(flight: Flight, events, payloads: list, result, enriching: asyncio.Future,
                       stages: dict[str, float], t0: float) -> None:
    """A validated batch, once enriched: wait until the batch before is stored, read which of its posts
    are stored already (and operators' status changes), assign incidents, count tension; then start
    writing it. Cancelled (the worker stops): its posts are spooled and its events stay unacknowledged."""
    try:
        enrichments = await enriching
        t = time.perf_counter()
        await flight.written()
        stages["write_wait"] = time.perf_counter() - t
        t = time.perf_counter()
        due = time.monotonic() - core.status_read >= STATUS_REFRESH_S
        known, changes, restored = await until_stored(_lookup, [p.post_id for p in result.posts],
                                                      core.status_since if due else None)
        if due:
            core.status_read = time.monotonic()
            apply_status_changes(changes, restored)
        now = datetime.now(timezone.utc)
        stages["lookup"] = time.perf_counter() - t
        await asyncio.to_thread(assign_incidents, result, enrichments, core.builder, core.route, known, now)
        stages.update(result.seconds)
        t = time.perf_counter()
        found = [a for a in (core.tension.observe(k, sector, at) for k, sector, at in result.complaints) if a]
        stages["tension"] = time.perf_counter() - t
    except asyncio.CancelledError:
        enriching.cancel()
        spool_on_stop(payloads, "being assigned")
        raise
    except Exception as exc:
        await dead_letter_batch(events, exc)
        release(events)
        return
    flight.writing = asyncio.create_task(store_batch(events, result, found, now, stages, t0))


async def finished(task: asyncio.Task | None) -> None:
    """Wait for a batch's task (assigning, or writing: stored, sent and acknowledged)."""
    if task is not None:
        try:
            await task
        except Exception:       # the tasks handle their own errors; never blame the next batch for one
            log.exception("a batch in flight failed")
    return None


async def dead_letter_batch(events, exc: Exception) -> None:
    """A bug (not a warehouse outage) must neither kill the agent nor lose the batch: every message
    goes to the DLQ with the reason."""
    log.exception("batch of %d posts failed; sending them to %s", len(events), posts_dlq.get_topic_name(), exc_info=exc)
    reason = f"internal error while processing: {type(exc).__name__}: {exc}"[:500]
    now = datetime.now(timezone.utc).isoformat()
    for e in events:
        dead = {"reason": reason, "payload": payload_preview(e.value),
                "topic": posts_raw.get_topic_name(), "partition": e.message.partition,
                "offset": e.message.offset, "at": now}
        await posts_dlq.send(value=json.dumps(dead, ensure_ascii=False).encode())
    metrics.dead_letters += len(events)


async def store_batch(events, result, found: list, now: datetime, stages: dict[str, float], t0: float) -> None:
    """Write a batch to the warehouse (retrying while it is away), then publish its incidents and
    alerts and acknowledge its events. Cancelled (the worker stops) before it is stored: the events
    stay unacknowledged, so the broker delivers them again, and are spooled (a memory broker that
    restarted has lost them)."""
    def batches(client) -> list:
        # operators' sector corrections of the incidents this batch continues, read in the
        # session that writes them (another worker's correction is never overwritten)
        continued = [i.incident_id for i in result.incidents if not i.is_new]
        if continued:
            apply_corrections(result.incidents, state.corrections(client, continued), core.route)
        return [("alerts", alert_rows(found, now), ALERT_COLUMNS)] + result.warehouse_batches(now)

    try:
        t = time.perf_counter()
        await until_stored(writer.write, batches)
        stages["insert"] = time.perf_counter() - t
    except asyncio.CancelledError:
        spool_on_stop([e.value for e in events], "being written")
        raise
    except Exception as exc:
        await dead_letter_batch(events, exc)
        release(events)
        return
    t = time.perf_counter()
    messages = [(inc.incident_id.encode(), json.dumps(incident_message(inc), ensure_ascii=False).encode())
                for inc in result.incidents]
    for inc in result.incidents:
        inc.dirty = inc.is_new = False
    try:
        await send_all(incidents_enriched, messages)
        await send_all(alerts, [(a.alert_id.encode(), json.dumps(a.to_json(), ensure_ascii=False).encode())
                                for a in [*result.missing, *found]])
    except Exception as exc:    # the rows are stored (the system of record); the messages only announce them
        log.warning("could not publish %d incident and %d alert messages of a stored batch: %s", len(messages),
                    len(found) + len(result.missing), exc)
    core.builder.evict()
    release(events)
    stages["send"] = time.perf_counter() - t
    metrics.missing_persons += len(result.missing)
    metrics.reopened += len(result.status_events)
    metrics.batch(len(events), len(result.posts), len(result.dead_letters), len(result.incidents), len(found),
                  time.perf_counter() - t0, stages, [p.ingested_at for p in result.posts])


@app.agent(incidents_status, concurrency=1)
async def store_status_events(stream):
    """incidents.status → validate → incident_status_events (bad events → posts.dlq)."""
    async for events in stream.take_events(500, within=settings.sink_batch_seconds):
        now = datetime.now(timezone.utc)
        rows = []
        for e in events:
            parsed = parse_status_event(e.value, now)
            if isinstance(parsed, str):
                dead = {"reason": parsed, "payload": payload_preview(e.value),
                        "topic": incidents_status.get_topic_name(), "partition": e.message.partition,
                        "offset": e.message.offset, "at": now.isoformat()}
                await posts_dlq.send(value=json.dumps(dead, ensure_ascii=False).encode())
                metrics.dead_letters += 1
            else:
                rows.append(parsed)
        if not rows:
            continue
        corrected = {r[1] for r in rows if r[-1]}
        if corrected:
            await core.ready.wait()             # (routing is loaded with the models)

        def batches(client) -> list:
            # a sector correction re-routes its incident (a new version of the stored row), by the
            # latest correction of each: this batch's and those stored before
            rerouted = []
            if corrected:
                latest = state.corrections(client, sorted(corrected))
                for r in rows:
                    if r[-1] and (r[1] not in latest or r[5] >= latest[r[1]][1]):
                        latest[r[1]] = (r[-1], r[5])
                rerouted = [rerouted_row(stored, latest[stored["incident_id"]][0], core.route, now)
                            for stored in state.incident_rows(client, sorted(corrected))
                            if stored["sector"] != latest[stored["incident_id"]][0]]
            return [("incident_status_events", rows, STATUS_COLUMNS), ("incidents", rerouted, INCIDENT_COLUMNS)]

        try:
            await until_stored(writer.write, batches)
        except Exception as exc:    # a bug, not an outage: dead-letter the events with the reason, go on
            log.exception("storing %d status events failed; sending them to %s", len(events), posts_dlq.get_topic_name())
            reason = f"internal error while storing status events: {type(exc).__name__}: {exc}"[:500]
            for e in events:
                dead = {"reason": reason, "payload": payload_preview(e.value), "topic": incidents_status.get_topic_name(),
                        "partition": e.message.partition, "offset": e.message.offset, "at": now.isoformat()}
                await posts_dlq.send(value=json.dumps(dead, ensure_ascii=False).encode())
            metrics.dead_letters += len(events)
            continue
        metrics.status_events += len(rows)
        # the next batch of posts reads the status changes now, not up to STATUS_REFRESH_S later: a
        # complaint right after a resolution stored by this worker reopens the incident (the
        # periodic read remains for statuses stored by other workers)
        core.status_read = 0.0


notifier = Notifier(Channels.from_settings(settings))


@app.agent(alerts, concurrency=1)
async def deliver_alerts(stream):
    """alerts → e-mail, webhook, Telegram (streams/notify.py), for the configured kinds. The offset is
    committed after the delivery (at least once); an alert a channel keeps refusing goes to posts.dlq
    with the reason. Without channels the messages are only read (so the broker may trim them)."""
    async for value in stream:
        alert = parse_alert(value)
        if alert is None or not notifier.wanted(alert):
            continue
        failures = await notifier.deliver(alert)
        if alert.get("ingested_at"):
            with contextlib.suppress(ValueError, TypeError):
                metrics.alert_delivered(datetime.fromisoformat(alert["ingested_at"]))
        if failures:
            dead = {"reason": "alert delivery failed: " + "; ".join(f"{k}: {v}" for k, v in failures.items()),
                    "payload": payload_preview(value), "topic": alerts.get_topic_name(), "partition": None,
                    "offset": None, "at": datetime.now(timezone.utc).isoformat()}
            await posts_dlq.send(value=json.dumps(dead, ensure_ascii=False).encode())
            metrics.dead_letters += 1


def skip_unwritten_log_records() -> None:
    """Faust's worker leaves the root logger at DEBUG and lets its handlers filter: every debug call
    of aiokafka and Faust (several per message sent) then builds a LogRecord that no handler writes
    (≈5 % of the worker's time). Raise the root logger to the lowest level a handler writes."""
    root = logging.getLogger()
    levels = [h.level for h in root.handlers if h.level > logging.NOTSET and type(h).__name__ != "SpinnerHandler"]
    if levels and root.level < min(levels):
        root.setLevel(min(levels))


@app.task
async def startup() -> None:
    """Load the enricher and rebuild state from ClickHouse; then re-publish spooled payloads."""
    skip_unwritten_log_records()
    delay = RETRY_MIN
    while True:
        try:
            await asyncio.to_thread(core.load)
            break
        except WarehouseError as exc:
            log.warning("cannot rebuild state yet (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
    for _ in range(30):          # know the broker's identity before the first batch (watch_broker_identity)
        await check_broker_identity()
        if broker_identity["cluster_id"] is not None:
            break
        await asyncio.sleep(1.0)
    core.ready.set()
    if settings.spool_dir.exists():
        for path in sorted(settings.spool_dir.glob("posts.raw-*.jsonl")):
            count = 0
            for line in path.read_text(encoding="utf-8").splitlines():
                await posts_raw.send(value=json.loads(line)["payload"].encode("utf-8", "surrogateescape"))
                count += 1
            path.unlink()
            log.info("re-published %d spooled posts from %s", count, path.name)


@app.page("/metrics")
async def prometheus(web, request):
    """Prometheus text format: lag, events/s, enrichment latency, DLQ count, …"""
    lag = {}
    try:
        consumer = app.consumer
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            pos = await consumer.position(tp) if hasattr(consumer, "position") else None
            if high is not None and pos is not None:
                lag[f"{tp.topic}/{tp.partition}"] = max(0, high - pos)
    except Exception:  # metrics must never break the worker
        pass
    return web.text(metrics.render(lag, notifier.sent, notifier.failed), content_type="text/plain; version=0.0.4")


broker_identity: dict = {"cluster_id": None, "admin": None}


@app.timer(interval=5.0)
async def watch_broker_identity() -> None:
    await check_broker_identity()


async def check_broker_identity() -> None:
    """Stop the worker when the broker comes back as another cluster (a memory broker restarted:
    its topics and committed offsets are gone). Reading on from the old positions would silently
    skip re-delivered posts; a fresh worker starts from the new broker's earliest offsets. A
    supervisor (``tsur up``) starts it again; an unstored batch is spooled as at any stop."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def current_cluster_id():
        if broker_identity["admin"] is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=3000)
            broker_identity["admin"] = admin
            await admin.start()
        return (await broker_identity["admin"].describe_cluster()).get("cluster_id")

    try:
        cluster_id = await asyncio.wait_for(current_cluster_id(), timeout=4.0)
    except Exception as exc:    # broker away (or a hung call): Faust's own clients retry; check again later
        log.info("broker identity check failed (%s: %s); retrying in 5 s", type(exc).__name__, str(exc)[:200])
        admin, broker_identity["admin"] = broker_identity["admin"], None
        if admin is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(admin.close(), timeout=2.0)
        return
    if broker_identity["cluster_id"] is None:
        broker_identity["cluster_id"] = cluster_id
        log.info("broker cluster id %s", cluster_id)
    elif cluster_id != broker_identity["cluster_id"]:
        log.error("the broker is a different cluster now (%s, was %s): it restarted and lost its topics and offsets; "
                  "stopping this worker so that a fresh one reads the new broker from the start (docs/broker.md)",
                  cluster_id, broker_identity["cluster_id"])
        os.kill(os.getpid(), signal.SIGTERM)


@app.timer(interval=30.0)
async def report_progress() -> None:
    log.info("worker: %s", metrics.summary())


def main() -> None:
    atexit.register(writer.close)       # close the warehouse session (chDB) before the interpreter goes
    atexit.register(core.close)         # and the enrichment process
    threading.Thread(target=core.load_models, name="load-models", daemon=True).start()
    app.main()


if __name__ == "__main__":
    main()
