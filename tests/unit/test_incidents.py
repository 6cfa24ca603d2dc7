from datetime import datetime, timedelta, timezone

from streams.incident_builder import IncidentBuilder, incident_id_for, jaccard, place_key_of, signature
from streams.status_events import parse_status_event
from streams.tension import TensionMonitor

T0 = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
KEY = place_key_of("Краснодарский край", "Усть-Лабинский район", "03657407101", "Южный")


def test_similar_complaints_join_one_incident_with_a_deterministic_id():
    b = IncidentBuilder()
    a = b.assign("p1", "Третий день нет воды в посёлке, водоканал молчит", T0, KEY, "housing", 0.3)
    c = b.assign("p2", "Нет воды уже третий день! Когда дадут воду?", T0 + timedelta(hours=2), KEY, "housing", 0.7)
    assert a is c and a.posts_count == 2 and a.urgency == 0.7
    assert a.incident_id == incident_id_for(KEY, "housing", "p1")
    other = b.assign("p3", "Огромные ямы на дороге к школе", T0 + timedelta(hours=3), KEY, "roads", 0.0)
    assert other is not a                      # another sector
    far = b.assign("p4", "Нет воды третий день, водоканал молчит", T0 + timedelta(days=5), KEY, "housing", 0.0)
    assert far is not a                        # outside the window


def test_replayed_post_keeps_its_incident_and_is_not_counted_twice():
    b = IncidentBuilder()
    a = b.assign("p1", "нет воды", T0, KEY, "housing", 0.0)
    again = b.assign("p1", "нет воды", T0, KEY, "housing", 0.0, known_incident=a.incident_id)
    assert again is a and a.posts_count == 1


def test_restart_rebuilds_the_same_assignment():
    first = IncidentBuilder()
    a = first.assign("p1", "Третий день нет воды в посёлке", T0, KEY, "housing", 0.0)
    second = IncidentBuilder()
    second.restore([a])
    c = second.assign("p2", "нет воды в посёлке третий день", T0 + timedelta(hours=1), KEY, "housing", 0.0)
    assert c.incident_id == a.incident_id


def test_signature_and_similarity():
    assert "вода" in signature("Нет воды!") and jaccard(frozenset("ab"), frozenset("bc")) == 1 / 3


def test_tension_alert_once_per_episode():
    m = TensionMonitor(min_count=5, factor=4.0)
    base = T0 - timedelta(days=20)
    m.restore([("03657000", "housing", base + timedelta(days=d)) for d in range(20)])   # about one a day
    fired = [m.observe("03657000", "housing", T0 + timedelta(minutes=10 * i)) for i in range(12)]
    alerts = [a for a in fired if a]
    assert len(alerts) == 1 and alerts[0].observed == 5
    again = TensionMonitor(min_count=5, factor=4.0)
    again.restore([("03657000", "housing", T0 + timedelta(minutes=10 * i)) for i in range(12)],
                  active=[("03657000", "housing", alerts[0].window_end.replace(minute=0, second=0, microsecond=0))])
    assert again.observe("03657000", "housing", T0 + timedelta(minutes=125)) is None   # restart: no second alert


def test_status_events_are_validated():
    now = datetime(2026, 11, 20, tzinfo=timezone.utc)
    row = parse_status_event(b'{"incident_id": "abc", "status": "answered", "at": "2026-11-19T10:00:00Z"}', now)
    assert row[1:3] == ["abc", "answered"] and row[5] == datetime(2026, 11, 19, 10, tzinfo=timezone.utc)
    assert row[0] == parse_status_event(b'{"incident_id": "abc", "status": "answered", "at": "2026-11-19T10:00:00Z"}', now)[0]
    assert "status" in parse_status_event(b'{"incident_id": "abc", "status": "done"}', now)
    assert "future" in parse_status_event(b'{"incident_id": "abc", "status": "resolved", "at": "2027-01-01T00:00:00Z"}', now)
    assert "JSON" in parse_status_event(b"{oops", now)


def test_sector_corrections_are_status_events_that_reroute():
    from streams.incident_builder import OpenIncident
    from streams.pipeline import INCIDENT_COLUMNS, apply_corrections, incident_row, rerouted_row

    now = datetime(2026, 11, 20, tzinfo=timezone.utc)
    plain = parse_status_event(b'{"incident_id": "abc", "status": "assigned", "at": "2026-11-19T10:00:00Z"}', now)
    fixed = parse_status_event(b'{"incident_id": "abc", "status": "assigned", "at": "2026-11-19T10:00:00Z", "sector": "energy"}', now)
    assert plain[-1] == "" and fixed[-1] == "energy" and fixed[0] != plain[0]    # a different event
    assert "sector" in parse_status_event(b'{"incident_id": "abc", "status": "assigned", "sector": "plumbing"}', now)

    calls = []

    def route(region, municipality, sector, first_seen, urgency):
        calls.append(sector)
        return f"body for {sector}", first_seen + timedelta(hours=1), first_seen + timedelta(days=3 if sector == "energy" else 5)

    inc = OpenIncident("abc", KEY, "housing", frozenset(), T0, T0, 2, 0.5, extra={
        "region": "Краснодарский край", "municipality": "Усть-Лабинский район", "responsible_body": "body for housing",
        "needs_review": True})
    untouched = OpenIncident("xyz", KEY, "housing", frozenset(), T0, T0, 1, 0.0, extra={"region": "r", "municipality": "m"})
    assert apply_corrections([inc, untouched], {"abc": ("energy", now)}, route) == 1
    assert apply_corrections([inc], {"abc": ("energy", now)}, route) == 0            # already applied: idempotent
    row = dict(zip(INCIDENT_COLUMNS, incident_row(inc, now)))
    assert (row["sector"], row["responsible_body"], row["resolution_due"], row["needs_review"]) == \
        ("energy", "body for energy", T0 + timedelta(days=3), 0)
    assert inc.sector == "housing" and calls == ["energy"]   # keeps its place in the builder; routed once
    assert dict(zip(INCIDENT_COLUMNS, incident_row(untouched, now)))["sector"] == "housing"

    stored = dict(zip(INCIDENT_COLUMNS, incident_row(untouched, now)), first_seen=T0, urgency=0.0)
    again = dict(zip(INCIDENT_COLUMNS, rerouted_row(stored, "roads", route, now + timedelta(hours=1))))
    assert (again["sector"], again["responsible_body"], again["updated_at"]) == ("roads", "body for roads", now + timedelta(hours=1))
    assert again["posts_count"] == stored["posts_count"] and again["incident_id"] == "xyz"


def test_complaints_after_a_resolution_reopen_the_incident():
    b = IncidentBuilder()
    a = b.assign("p1", "Третий день нет воды в посёлке, водоканал молчит", T0, KEY, "housing", 0.0)
    assert b.set_status(a.incident_id, "resolved", T0 + timedelta(hours=5))
    before = b.assign("p0", "нет воды в посёлке третий день", T0 + timedelta(hours=4), KEY, "housing", 0.0)
    assert before is a and a.reopened == 0 and a.resolved_at is not None     # written before the resolution
    again = b.assign("p2", "Опять нет воды в посёлке, водоканал молчит", T0 + timedelta(days=3), KEY, "housing", 0.0)
    assert again is a and a.reopened == 1 and a.reopened_by == ["p2"] and a.resolved_at is None
    more = b.assign("p3", "И сегодня нет воды в посёлке", T0 + timedelta(days=3, hours=1), KEY, "housing", 0.0)
    assert more is a and a.reopened == 1                  # reopened once: it is open again


def test_a_new_problem_or_another_place_does_not_reopen():
    b = IncidentBuilder()
    a = b.assign("p1", "Третий день нет воды в посёлке, водоканал молчит", T0, KEY, "housing", 0.0)
    b.set_status(a.incident_id, "resolved", T0 + timedelta(hours=5))
    elsewhere = place_key_of("Краснодарский край", "Усть-Лабинский район", "03657000001", "Двубратский")
    assert b.assign("p2", "Нет воды в посёлке, водоканал молчит", T0 + timedelta(days=2), elsewhere, "housing", 0.0) is not a
    assert b.assign("p3", "Нет воды в посёлке", T0 + timedelta(days=2), KEY, "roads", 0.0) is not a     # another sector
    assert b.assign("p4", "Ямы на дороге к школе, машины ломаются", T0 + timedelta(days=2), KEY, "housing", 0.0) is not a
    late = b.assign("p5", "Опять нет воды в посёлке, водоканал молчит", T0 + timedelta(days=9), KEY, "housing", 0.0)
    assert late is not a and a.reopened == 0             # more than the reopen window after the resolution


def test_rejected_incidents_are_not_reopened_and_resolved_ones_outlive_the_window():
    b = IncidentBuilder()
    a = b.assign("p1", "Третий день нет воды в посёлке", T0, KEY, "housing", 0.0)
    b.set_status(a.incident_id, "resolved", T0 + timedelta(hours=1))
    b.assign("p2", "Огромные ямы на дороге", T0 + timedelta(days=4), KEY, "roads", 0.0)   # moves the watermark on
    assert b.evict() == 0 and a.incident_id in b.by_id      # held for the reopen window, past the 72 h window
    b.set_status(a.incident_id, "rejected", T0 + timedelta(hours=2))
    assert b.evict() == 1 and a.incident_id not in b.by_id
