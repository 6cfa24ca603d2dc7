"""The stream's state rebuilt from ClickHouse after a crash between the inserts of one batch."""
from datetime import datetime, timedelta, timezone

from streams import state
from streams.incident_builder import WINDOW
from streams.pipeline import ENRICHED_COLUMNS, INCIDENT_COLUMNS
from warehouse.migrations import migrate
from warehouse.session import warehouse_session

T = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def _incident(iid: str, posts_count: int) -> list:
    row = dict.fromkeys(INCIDENT_COLUMNS, "")
    row.update(incident_id=iid, lat=None, lon=None, sector="housing", sector_confidence=0.9, complaint_score=0.9,
               urgency=0.0, posts_count=posts_count, first_seen=T, last_seen=T + timedelta(hours=1), first_answer_due=None,
               resolution_due=None, updated_at=T, place_key="r:X", signature=["вода"], urgency_reasons=[], needs_review=0, reopened=0)
    return [row[c] for c in INCIDENT_COLUMNS]


def _enriched(post_id: str, iid: str) -> list:
    row = dict.fromkeys(ENRICHED_COLUMNS, "")
    row.update(post_id=post_id, incident_id=iid, created_at=T, lat=None, lon=None, place_confidence=0.0, sector="housing",
               sector_confidence=0.9, complaint_score=0.9, is_complaint=1, urgency=0.0, urgency_reasons=[], enriched_at=T,
               needs_review=0)
    return [row[c] for c in ENRICHED_COLUMNS]


def test_open_incidents_are_recounted_from_stored_posts(settings):
    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        # a crash after the incidents insert: the row says 3 posts, only 2 were recorded as counted
        c.insert("incidents", [_incident("a", 3), _incident("b", 1)], column_names=list(INCIDENT_COLUMNS))
        c.insert("posts_enriched", [_enriched("p1", "a"), _enriched("p2", "a"), _enriched("p2", "a")],
                 column_names=list(ENRICHED_COLUMNS))
        restored = {i.incident_id: i.posts_count for i in state.open_incidents(c, WINDOW)}
    assert restored == {"a": 2, "b": 0}
