"""Daily products computed against chDB without Airflow: SLA figures checked by hand on a small
fixture, fair rankings, heat-map cells and tension, idempotent re-runs."""
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from reports import heatmap, rollup, sla
from streams.pipeline import INCIDENT_COLUMNS
from streams.status_events import STATUS_COLUMNS
from warehouse.migrations import migrate
from warehouse.session import warehouse_session

DAY = date(2026, 11, 20)
MSK = timezone(timedelta(hours=3))
REGION = "Ростовская область"


def incident(iid, first_seen, due_h, body="Администрация города Шахты", muni="город Шахты", sector="housing", h3="882d4552e9fffff"):
    row = dict.fromkeys(INCIDENT_COLUMNS, "")
    row.update(incident_id=iid, region=REGION, municipality=muni, oktmo="60740000", settlement="Шахты", settlement_oktmo="60740000001",
               lat=47.7086, lon=40.2158, h3=h3, sector=sector, sector_confidence=0.9, complaint_score=0.9, urgency=0.0,
               title=f"Инцидент {iid}", posts_count=1, first_seen=first_seen, last_seen=first_seen, responsible_body=body,
               first_answer_due=first_seen + timedelta(hours=due_h), resolution_due=first_seen + timedelta(days=9),
               model_version="t", updated_at=datetime.now(timezone.utc), place_key="s:x", signature=[], urgency_reasons=[],
               source_url=f"https://vk.com/wall-1_{iid}", needs_review=0, reopened=0)
    return [row[c] for c in INCIDENT_COLUMNS]


@pytest.fixture
def client(settings):
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        yield c


def seed(client):
    t = datetime(2026, 11, 18, 10, 0, tzinfo=MSK)      # Wednesday 10:00 Moscow
    rows = [incident("a", t, 8), incident("b", t, 8), incident("c", t, 8), incident("d", t + timedelta(days=1), 8),
            incident("e", t - timedelta(days=10), 8),    # previous week
            incident("f", t, 8, body="Водоканал")]
    client.insert("incidents", rows, column_names=list(INCIDENT_COLUMNS))
    # a: answered after 2 h (on time); b: answered after 30 h (late); c, d: never answered (overdue);
    # e (previous week): on time; f: answered on time and resolved after a day
    now = datetime.now(timezone.utc)
    ev = [["1", "a", "answered", "", "", t + timedelta(hours=2), now], ["2", "b", "answered", "", "", t + timedelta(hours=30), now],
          ["3", "e", "answered", "", "", t - timedelta(days=10) + timedelta(hours=1), now],
          ["4", "f", "answered", "", "", t + timedelta(hours=4), now], ["5", "f", "resolved", "", "", t + timedelta(days=1), now],
          # a: resolved after 5 h, reopened after 20 h (complaints continued): not a lasting resolution
          ["6", "a", "resolved", "", "", t + timedelta(hours=5), now], ["7", "a", "reopened", "tsur", "", t + timedelta(hours=20), now]]
    client.insert("incident_status_events", [e + [""] for e in ev], column_names=list(STATUS_COLUMNS))   # (no sector correction)


def test_sla_figures_by_hand(client):
    seed(client)
    assert sla.build(client, DAY, REGION) == 2
    f = sla.figures(client, DAY, REGION).set_index("responsible_body")
    adm = f.loc["Администрация города Шахты"]
    assert (adm.received, adm.answered_on_time, adm.answered_late, adm.overdue_now, adm.resolved) == (4, 1, 1, 2, 1)
    assert (adm.resolved_once, adm.reopened) == (1, 1) and pd.isna(adm.median_lasting_resolution_h)
    assert adm.within_deadline_share == pytest.approx(1 / 4)
    assert adm.median_first_answer_h == pytest.approx(16.0)          # median of 2 h and 30 h
    assert adm.received_prev == 1 and adm.within_deadline_share_prev == pytest.approx(1.0)
    vk = f.loc["Водоканал"]
    assert (vk.received, vk.answered_on_time, vk.resolved) == (1, 1, 1) and vk.median_resolution_h == pytest.approx(24.0)
    assert (vk.resolved_once, vk.reopened) == (1, 0) and vk.median_lasting_resolution_h == pytest.approx(24.0)
    table = sla._table(f.reset_index())
    assert list(table["Повторно открыто, %"]) == [100.0, 0.0]
    assert sla.build(client, DAY, REGION) == 2                         # re-run replaces the day
    overdue = sla.oldest_overdue(client, DAY, REGION, "город Шахты")
    assert list(overdue["title"]) == ["Инцидент c", "Инцидент d"]


def test_oldest_overdue_is_as_of_the_end_of_the_day_and_at_most_15_per_municipality(client):
    t = datetime(2026, 11, 18, 10, 0, tzinfo=MSK)
    client.insert("incidents", [incident(f"o{i:02}", t + timedelta(minutes=i), 8) for i in range(18)]
                  + [incident("x", t, 8, muni="Октябрьский район")], column_names=list(INCIDENT_COLUMNS))
    now = datetime.now(timezone.utc)
    after_the_day = datetime.combine(DAY + timedelta(days=2), datetime.min.time(), MSK)
    ev = [["1", "o00", "answered", "", "", after_the_day, now],          # answered later: overdue on DAY
          ["2", "o01", "answered", "", "", t + timedelta(hours=1), now],  # answered in time: not overdue
          ["3", "o02", "in_progress", "", "", t + timedelta(hours=20), now]]  # late, but answered by DAY: not overdue
    client.insert("incident_status_events", [e + [""] for e in ev], column_names=list(STATUS_COLUMNS))
    sla.build(client, DAY, REGION)
    overdue = sla.oldest_overdue(client, DAY, REGION, "город Шахты", limit=100)
    assert list(overdue["title"]) == [f"Инцидент o{i:02}" for i in [0, *range(3, 17)]]     # the 15 oldest, by first_seen
    assert list(sla.oldest_overdue(client, DAY, REGION, "Октябрьский район")["title"]) == ["Инцидент x"]
    sla.build(client, DAY, REGION)                                         # a re-run replaces, never adds
    assert client.query("SELECT count() FROM report_sla_overdue FINAL").result_rows[0][0] == 16
    assert sla.oldest_overdue(client, DAY - timedelta(days=3), REGION, "город Шахты").empty   # nothing built for that day


def test_fair_ranking():
    frame = pd.DataFrame({
        "municipality": ["A", "B", "C"], "received": [200, 12, 3], "answered_on_time": [180, 12, 3],
        "answered_late": [10, 0, 0], "overdue_now": [10, 0, 0]})
    r = rollup.ranking(frame, min_volume=10).set_index("municipality")
    assert r.loc["C", "rank"] is pd.NA                 # too few to rank, however perfect
    assert r.loc["A", "rank"] == 1                     # 90 % of 200 beats 100 % of 12 on the Wilson lower bound
    lo, hi = rollup.wilson(12, 12)
    assert 0.7 < lo < 0.8 and hi == 1.0


def test_heatmap_cells_and_tension(client):
    seed(client)
    n = heatmap.build(client, DAY - timedelta(days=2), REGION)
    cells = heatmap.cells(client, DAY - timedelta(days=2), REGION, resolution=8)
    assert n > 0 and len(cells) == 1
    cell = cells.iloc[0]
    assert cell.incidents == 4 and cell.settlement == "Шахты"
    assert cell.baseline == pytest.approx(1 / 28) and cell.tension == pytest.approx((4 + 1) / (1 / 28 + 1))
    coarse = heatmap.cells(client, DAY - timedelta(days=2), REGION, resolution=7)
    assert len(coarse) == 1 and coarse.iloc[0].h3.startswith("87")
    assert abs(cell.lat - 47.7086) < 0.01 and abs(cell.lon - 40.2158) < 0.01


def test_sla_report_renders_without_overdue_incidents(client, tmp_path):
    t = datetime(2026, 11, 18, 10, 0, tzinfo=MSK)
    client.insert("incidents", [incident("z", t, 8)], column_names=list(INCIDENT_COLUMNS))
    client.insert("incident_status_events", [["9", "z", "answered", "", "", t + timedelta(hours=1), datetime.now(timezone.utc), ""]],
                  column_names=list(STATUS_COLUMNS))
    sla.build(client, DAY, REGION)
    (muni, oktmo, files), = sla.render(client, DAY, REGION, tmp_path)
    assert muni == "город Шахты" and oktmo == "60740000"
    assert "Просроченных обращений нет" in files["html"].read_text() and files["pdf"].stat().st_size > 1000


def test_resident_concerns_report_by_hand(client, settings, tmp_path):
    """28 quiet days with a pothole post a day, then a day with six posts about hot water: the water is
    the top subtopic and the rising phrase, its incident the most discussed, and complaints per 10,000
    residents use the gazetteer's population of город Шахты."""
    from intake.raw_post import COLUMNS, parse_raw_post
    from reports import concerns

    raw, enriched = [], []

    def add(i, text, d, sector, incident):
        p = parse_raw_post({"source": "vk", "id": f"cc{i}", "text": text, "created_at": f"{d.isoformat()}T12:00:00+03:00",
                            "region_hint": REGION}, settings.pseudonym_key)
        raw.append(p.row())
        enriched.append([p.post_id, incident, p.created_at, REGION, "город Шахты", sector, 1])

    for k in range(1, 29):
        add(k, "Ямы на дороге по улице Ленина, колёса пробиваем", DAY - timedelta(days=k), "roads", f"pit{k}")
    add(100, "Ямы на дороге по улице Ленина, колёса пробиваем", DAY, "roads", "pit0")
    for k in range(6):
        add(200 + k, f"Нет горячей воды в доме {k + 1} на Садовой, из крана течёт холодная", DAY, "housing", "hw")
    client.insert("posts_raw", raw, column_names=list(COLUMNS))
    client.insert("posts_enriched", enriched,
                  column_names=["post_id", "incident_id", "created_at", "region", "municipality", "sector", "is_complaint"])
    client.insert("incidents", [incident("hw", datetime(2026, 11, 20, 9, tzinfo=MSK), 8)], column_names=list(INCIDENT_COLUMNS))

    df = concerns.posts(client, DAY, REGION, 1)
    assert int(df["now"].sum()) == 7 and len(df) == 35
    rise = concerns.rising(df, 1)
    assert "горячий вода" in set(rise["term"]) and "яма" not in set(rise["term"])
    row = rise.set_index("term").loc["горячий вода"]
    assert row["now"] == 6 and row["expected"] == 0 and row["z"] == pytest.approx(6.0)
    subs = concerns.subtopics(df, 1)
    assert subs.iloc[0]["sector"] == "housing" and subs.iloc[0]["now"] == 6 and "вод" in subs.iloc[0]["subtopic"].lower()
    top = concerns.discussed(client, df)
    assert top.iloc[0]["incident_id"] == "hw" and top.iloc[0]["posts"] == 6
    dens = concerns.per_10k(df, REGION).set_index("municipality")
    assert dens.loc["город Шахты", "complaints"] == 7 and dens.loc["город Шахты", "population"] > 100_000
    files = concerns.build_report(client, DAY, REGION, tmp_path, days=1)
    html = files["html"].read_text(encoding="utf-8")
    assert set(files) == {"html", "pdf", "xlsx"} and "горячий вода" in html and "На 10 000 жителей" in html
