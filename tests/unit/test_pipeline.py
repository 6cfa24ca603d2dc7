import json
from datetime import datetime, timezone

from streams.pipeline import parse_batch

KEY = b"k" * 32
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def msg(i, **over):
    d = {"source": "tg", "id": i, "text": f"пост {i}", "created_at": "2026-11-20T10:00:00Z"}
    d.update(over)
    return json.dumps(d).encode()


def test_batch_splits_valid_and_dead_letters_and_dedups():
    messages = [(msg(1), 0, 10), (b"garbage", 0, 11), (msg(2), 1, 5), (msg(1), 1, 6), (msg(3, text=None), 0, 12)]
    r = parse_batch(messages, KEY, now=NOW)
    assert [p.source_post_id for p in r.posts] == ["1", "2"]
    assert [(d.offset, d.partition) for d in r.dead_letters] == [(11, 0), (12, 0)]
    assert "JSON" in r.dead_letters[0].reason and "text" in r.dead_letters[1].reason
    (table, rows, cols) = r.warehouse_batches()[0]
    assert table == "posts_raw" and len(rows) == 2 and len(cols) == len(rows[0])


def test_dead_letter_payload_is_bounded():
    r = parse_batch([(b"\xff" * 100_000, 0, 1)], KEY, now=NOW)
    assert len(r.dead_letters[0].payload) <= 10_000


def test_enrich_batch_builds_enriched_rows_and_incidents():
    from enrichment.enricher import Enricher
    from streams.incident_builder import IncidentBuilder
    from streams.pipeline import ENRICHED_COLUMNS, INCIDENT_COLUMNS, enrich_batch
    from tests.conftest import ROOT

    texts = ["Третий день нет воды в посёлке Южном Усть-Лабинского района!", "Нет воды в Южном, третий день, водоканал молчит",
             "Продам гараж недорого"]
    msgs = [(msg(i, text=t, region_hint="Краснодарский край", community_name="Подслушано Усть-Лабинск"), 0, i) for i, t in enumerate(texts)]
    r = parse_batch(msgs, KEY, now=NOW)
    routed = []

    def route(region, municipality, sector, first_seen, urgency):
        routed.append((region, municipality, sector))
        return "Администрация", first_seen, first_seen

    enrich_batch(r, Enricher.load(cache_dir=ROOT / "data" / "cache"), IncidentBuilder(), route, now=NOW)
    assert len(r.enriched) == 3 and all(len(row) == len(ENRICHED_COLUMNS) for row in r.enriched)
    assert r.enriched[0][1] and r.enriched[0][1] == r.enriched[1][1] and r.enriched[2][1] == ""   # one incident, noise has none
    assert routed == [("Краснодарский край", "Усть-Лабинский район", "housing")]
    (inc,) = r.incidents
    assert inc.posts_count == 2 and inc.extra["settlement"] == "Южный"
    tables = [t for t, _, _ in r.warehouse_batches(NOW)]
    assert tables.index("incidents") < tables.index("posts_enriched") == len(tables) - 1   # counted last
    irows, icols = {t: (rows, cols) for t, rows, cols in r.warehouse_batches(NOW)}["incidents"]
    assert len(irows) == 1 and len(irows[0]) == len(INCIDENT_COLUMNS) and icols == INCIDENT_COLUMNS


def test_fast_lane_and_reopening():
    """A missing-person post opens an incident of its own and an alert, whatever its sector; a complaint
    after its incident was resolved reopens it with a 'reopened' status event."""
    from enrichment.enricher import Enricher
    from streams.fast_lane import alert_id_for
    from streams.incident_builder import IncidentBuilder
    from streams.pipeline import INCIDENT_COLUMNS, enrich_batch
    from streams.status_events import STATUS_COLUMNS
    from tests.conftest import ROOT

    enricher, builder = Enricher.load(cache_dir=ROOT / "data" / "cache"), IncidentBuilder()

    def route(region, municipality, sector, first_seen, urgency):
        return "Администрация", first_seen, first_seen

    def batch(texts, at):
        msgs = [(msg(f"{at}-{i}", text=t, region_hint="Краснодарский край", created_at=at), 0, i) for i, t in enumerate(texts)]
        return enrich_batch(parse_batch(msgs, KEY, now=NOW), enricher, builder, route, now=NOW)

    water = "Третий день нет воды в посёлке Южном Усть-Лабинского района, водоканал молчит"
    missing = ("Пропала девочка 12 лет в посёлке Южном Усть-Лабинского района, ушла из дома и не вернулась. "
               "Была одета в красную куртку. Кто видел — звоните")
    r = batch([water, missing, water + "!"], "2026-11-20T08:00:00Z")
    by_text = {p.text: row[1] for p, row in zip(r.posts, r.enriched)}
    assert by_text[water] == by_text[water + "!"] != by_text[missing] != ""   # never merged into the water incident
    (alert,) = r.missing
    assert alert.alert_id == alert_id_for(r.posts[1].post_id) and alert.incident_id == by_text[missing]
    assert alert.to_json()["kind"] == "missing_person" and "Южн" in alert.settlement
    assert not r.status_events
    water_incident = builder.by_id[by_text[water]]
    builder.set_status(water_incident.incident_id, "resolved", datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc))
    r2 = batch(["Снова нет воды в посёлке Южном Усть-Лабинского района, водоканал молчит"], "2026-11-20T11:00:00Z")
    (event,) = r2.status_events
    row = dict(zip(STATUS_COLUMNS, event))
    assert row["incident_id"] == water_incident.incident_id and row["status"] == "reopened" and row["actor"] == "tsur"
    assert "complaints continued" in row["comment"] and r2.enriched[0][1] == water_incident.incident_id
    incidents = {t: rows for t, rows, _ in r2.warehouse_batches(NOW)}["incidents"]
    assert dict(zip(INCIDENT_COLUMNS, incidents[0]))["reopened"] == 1
