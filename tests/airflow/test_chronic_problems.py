"""chronic_problems runs for real (dag.test) against chDB on a hand-made fixture whose answer is
known: which place × sector pairs recur, their counts, trend and order, and a re-run of the same
logical date replaces the week."""
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
DAGS = Path(__file__).resolve().parents[2] / "dags"
REGION = "Ростовская область"
DAY = date(2026, 10, 5)


def _incident(iid, days_ago, place, sector, muni="город Шахты", oktmo="60740000"):
    from streams.pipeline import INCIDENT_COLUMNS

    t = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=timezone.utc) - timedelta(days=days_ago)
    row = dict.fromkeys(INCIDENT_COLUMNS, "")
    row.update(incident_id=iid, region=REGION, municipality=muni, oktmo=oktmo, settlement=place.split("|")[-1], lat=None,
               lon=None, sector=sector, sector_confidence=0.9, complaint_score=0.9, urgency=0.0, title=f"Жалоба {iid}",
               posts_count=1, first_seen=t, last_seen=t, first_answer_due=None, resolution_due=None, updated_at=t,
               place_key=place, signature=[], urgency_reasons=[], source_url=f"https://vk.com/wall-1_{iid}", needs_review=0, reopened=0)
    return [row[c] for c in INCIDENT_COLUMNS]


@pytest.fixture
def chronic_store(airflow_db, settings, monkeypatch):
    from streams.pipeline import INCIDENT_COLUMNS
    from streams.status_events import STATUS_COLUMNS
    from warehouse.migrations import migrate
    from warehouse.session import warehouse_session

    monkeypatch.setenv("TSUR_REGIONS", REGION)
    water, pits = "s:Ростовская область|город Шахты|Шахты", "s:Ростовская область|город Шахты|Шахты"
    village = "s:Ростовская область|Октябрьский район|Каменоломни"
    rows = ([_incident(f"w{i}", d, water, "housing") for i, d in enumerate((80, 50, 20, 5))]     # 2 earlier, 2 recent
            + [_incident(f"r{i}", d, pits, "roads") for i, d in enumerate((40, 10))]              # 2: below the minimum
            + [_incident(f"k{i}", d, village, "waste", "Октябрьский район", "60642000") for i, d in enumerate((25, 12, 3))]
            + [_incident(f"m{i}", 5, f"missing:p{i}", "social") for i in range(3)]                # missing persons: not a place
            + [_incident(f"z{i}", 5, "r:Ростовская область", "energy") for i in range(4)]         # region-wide: not a place
            + [_incident("old", 120, water, "housing")])                                          # outside the 90 days
    now = datetime.now(timezone.utc)
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        c.insert("incidents", rows, column_names=list(INCIDENT_COLUMNS))
        c.insert("incident_status_events", [["e1", "w2", "resolved", "", "", now - timedelta(days=70), now, ""],
                                            ["e2", "w2", "reopened", "tsur", "", now - timedelta(days=69), now, ""]],
                 column_names=list(STATUS_COLUMNS))
    return settings


def _rows(settings):
    from warehouse.session import warehouse_session

    with warehouse_session(settings.clickhouse_dsn) as c:
        return c.query("SELECT municipality, settlement, sector, incidents, recent, earlier, reopened, round(score, 3) "
                       "FROM report_chronic_problems FINAL WHERE day = {d:Date} AND region = {r:String} ORDER BY score DESC",
                       parameters={"d": DAY, "r": REGION}).result_rows


def test_chronic_problems_dag_finds_the_recurring_pairs_and_reruns_idempotently(chronic_store, settings):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from warehouse.session import warehouse_session

    dag = DagBag(dag_folder=str(DAGS)).dags["chronic_problems"]
    for _ in range(2):                                  # the second run replaces the week
        run = dag.test(logical_date=datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=timezone.utc))
        assert run.state == DagRunState.SUCCESS
        rows = _rows(settings)
        # housing in Шахты: 4 incidents (2 in the last 30 days, 2 in the 60 before = 1 per 30 days),
        #   trend (2 + 1) / (1 + 1) = 1.5, one reopened: 4 × 1.5 × 1.25 = 7.5
        # waste in Каменоломни: 3, all recent: trend (3 + 1) / (0 + 1) = 4 → clamped to 2: 3 × 2 = 6
        assert rows == [("город Шахты", "Шахты", "housing", 4, 2, 2, 1, 7.5),
                        ("Октябрьский район", "Каменоломни", "waste", 3, 3, 0, 0, 6.0)]
        maps = {ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "report"}
        assert maps == {REGION, "город Шахты", "Октябрьский район"}
    with warehouse_session(settings.clickhouse_dsn) as c:
        files = [r[0] for r in c.query("SELECT path FROM published_reports FINAL WHERE product = 'chronic' AND day = {d:Date} "
                                       "AND region = {r:String} ORDER BY path", parameters={"d": DAY, "r": REGION}).result_rows]
    names = sorted(Path(f).name for f in files)
    assert names == sorted(f"chronic-{s}.{e}" for s in ("60740000", "60642000", "region") for e in ("html", "pdf", "xlsx"))
    html = Path(next(f for f in files if f.endswith("chronic-region.html"))).read_text(encoding="utf-8")
    assert "Каменоломни" in html and "растёт" in html and "1 открывались повторно после решения" in html
