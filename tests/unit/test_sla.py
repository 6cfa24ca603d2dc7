"""routing/: the production calendar, SLA deadlines and the responsible-body table.

Expected moments are worked out by hand in the comments (MSK = UTC+3, YEKT = UTC+5, no DST).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.deadlines import SlaPolicy, deadlines
from routing.production_calendar import ProductionCalendar
from routing.responsible_body import RoutingTable

MSK = ZoneInfo("Europe/Moscow")
YEKT = ZoneInfo("Asia/Yekaterinburg")


@pytest.fixture(scope="module")
def cal() -> ProductionCalendar:
    return ProductionCalendar.load()


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return RoutingTable.load()


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- calendar facts ---------------------------------------------------------------------------

@pytest.mark.parametrize("d, working", [
    (date(2026, 1, 5), False),    # Monday inside the January holidays
    (date(2026, 1, 9), False),    # Friday, day off moved from Sat 3 Jan
    (date(2026, 1, 12), True),    # first working day of 2026
    (date(2026, 3, 9), False),    # 8 March falls on a Sunday → Monday 9 March
    (date(2026, 5, 11), False),   # 9 May falls on a Saturday → Monday 11 May
    (date(2026, 12, 31), False),  # moved from Sun 4 Jan
    (date(2025, 11, 3), False),   # moved from Sat 1 Nov
    (date(2025, 11, 1), True),    # working Saturday
    (date(2024, 12, 28), True),   # working Saturday
    (date(2024, 12, 30), False),
    (date(2026, 2, 7), False),    # an ordinary Saturday
    (date(2026, 2, 9), True),     # an ordinary Monday
])
def test_calendar_facts(cal, d, working):
    assert cal.is_working_day(d) is working


def test_working_hours_and_shortened_days(cal):
    assert cal.working_hours(date(2026, 2, 9)) == (time(9), time(18))
    assert cal.working_hours(date(2026, 4, 30)) == (time(9), time(17))  # before 1 May
    assert cal.working_hours(date(2025, 11, 1)) == (time(9), time(17))  # working Saturday before 3–4 Nov
    assert cal.working_hours(date(2024, 12, 28)) == (time(9), time(18))  # working Saturday, full day
    assert cal.working_hours(date(2026, 1, 5)) is None
    custom = ProductionCalendar.load(day_start=time(8), day_end=time(17))
    assert custom.working_hours(date(2026, 4, 30)) == (time(8), time(16))


@pytest.mark.parametrize("year, days, shortened", [(2024, 248, 5), (2025, 247, 4), (2026, 247, 4)])
def test_decree_years_match_the_official_totals(cal, year, days, shortened):
    """248/247/247 working days; norms at 40 h/week 1979, 1972, 1972 h = 8·days − shortened."""
    all_days = [date(year, 1, 1) + timedelta(i) for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    working = [d for d in all_days if cal.is_working_day(d)]
    assert len(working) == days
    assert sum(cal.working_hours(d)[1] == time(17) for d in working) == shortened
    assert "Постановление" in cal.years[year].source
    assert cal.years[2027].source == "derived from Labour Code art. 112 (no decree yet)"


def test_missing_year_is_a_clear_error(cal):
    with pytest.raises(ValueError, match=r"no year 2030.*production_calendar\.yaml"):
        cal.is_working_day(date(2030, 1, 9))
    # Tue 28 Dec 2027 + 7 working days runs into 2028
    with pytest.raises(ValueError, match="no year 2028"):
        cal.add_working_days(msk(2027, 12, 28, 10), 7, MSK)


def test_bad_calendar_file_is_rejected(tmp_path):
    p = tmp_path / "cal.yaml"
    p.write_text("years:\n  2026:\n    source: x\n    days_off: [2026-02-07]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="weekend"):
        ProductionCalendar.load(p)


# --- working-time arithmetic ------------------------------------------------------------------

def test_add_working_hours_across_a_weekend(cal):
    # Fri 30 Jan 2026 16:00 MSK: 2 h on Friday (to 18:00), 6 h on Mon 2 Feb → 15:00 MSK = 12:00 UTC
    assert cal.add_working_hours(msk(2026, 1, 30, 16), 8, MSK) == utc(2026, 2, 2, 12)
    # Sat 7 Feb 10:00: starts Mon 9 Feb 09:00 → 17:00 MSK = 14:00 UTC
    assert cal.add_working_hours(msk(2026, 2, 7, 10), 8, MSK) == utc(2026, 2, 9, 14)
    # Fri 20 Feb 15:00: 3 h Friday; Sat–Sun and Mon 23 Feb (holiday) off; 5 h Tue 24 Feb → 14:00 MSK
    assert cal.add_working_hours(msk(2026, 2, 20, 15), 8, MSK) == utc(2026, 2, 24, 11)


def test_add_working_hours_across_the_new_year_holidays(cal):
    # Tue 30 Dec 2025 15:00: 3 h to 18:00; 31 Dec – 11 Jan off; 5 h on Mon 12 Jan → 14:00 MSK
    assert cal.add_working_hours(msk(2025, 12, 30, 15), 8, MSK) == utc(2026, 1, 12, 11)


def test_add_working_hours_on_a_shortened_day(cal):
    # Thu 30 Apr 2026 ends at 17:00: 3 h from 14:00; 1–3 May off; 1 h Mon 4 May → 10:00 MSK = 07:00 UTC
    assert cal.add_working_hours(msk(2026, 4, 30, 14), 4, MSK) == utc(2026, 5, 4, 7)


def test_add_working_hours_from_the_evening_and_to_the_end_of_day(cal):
    # Wed 4 Feb 21:30 → starts Thu 5 Feb 09:00 → 17:00 MSK = 14:00 UTC
    assert cal.add_working_hours(msk(2026, 2, 4, 21, 30), 8, MSK) == utc(2026, 2, 5, 14)
    # Mon 9 Feb 09:00 + 9 h is 18:00 the same day (not 09:00 the next morning)
    assert cal.add_working_hours(msk(2026, 2, 9, 9), 9, MSK) == utc(2026, 2, 9, 15)
    # Mon 9 Feb 10:00 + 1.5 h = 11:30 MSK
    assert cal.add_working_hours(msk(2026, 2, 9, 10), 1.5, MSK) == utc(2026, 2, 9, 8, 30)


def test_time_zones(cal):
    start = utc(2026, 2, 4, 6)  # Wed 4 Feb: 11:00 in Yekaterinburg, 09:00 in Moscow
    # YEKT: 7 h to 18:00, 1 h Thu 5 Feb → 10:00 YEKT = 05:00 UTC
    assert cal.add_working_hours(start, 8, YEKT) == utc(2026, 2, 5, 5)
    # MSK: 09:00 + 8 h → 17:00 MSK = 14:00 UTC
    assert cal.add_working_hours(start, 8, MSK) == utc(2026, 2, 4, 14)
    assert cal.add_working_hours(start, 8, YEKT).tzinfo is UTC
    # 03:00 UTC Fri 30 Jan is 08:00 in Yekaterinburg: +1 working day ends Mon 2 Feb 18:00 YEKT
    assert cal.add_working_days(utc(2026, 1, 30, 3), 1, YEKT) == utc(2026, 2, 2, 13)
    with pytest.raises(ValueError, match="aware"):
        cal.add_working_hours(datetime(2026, 2, 4, 9), 8, MSK)


def test_remembered_working_days_are_the_computed_ones(cal):
    # the stream asks add_working_days the same question all day: the answers are remembered per
    # (local day, days, zone) — the same as computing them, whatever the hour or the zone
    fresh = ProductionCalendar.load()
    starts = [utc(2026, 12, 20, 0) + timedelta(hours=5 * k) for k in range(60)]
    for tz in (MSK, YEKT):
        for days in (1, 3, 10):
            got = [cal.add_working_days(s, days, tz) for s in starts + starts]
            want = [fresh._add_working_days(s.astimezone(tz).date(), days, tz) for s in starts + starts]
            assert got == want
    assert cal.add_working_days(utc(2026, 1, 30, 3), 1, YEKT) == utc(2026, 2, 2, 13)   # the same day, another zone
    assert cal.add_working_days(utc(2026, 1, 30, 3), 1, MSK) == utc(2026, 2, 2, 15)


def test_working_hours_between(cal):
    # Fri 30 Jan 16:00 → Mon 2 Feb 11:00 MSK: 2 h + 2 h
    a, b = msk(2026, 1, 30, 16), msk(2026, 2, 2, 11)
    assert cal.working_hours_between(a, b, MSK) == 4.0
    assert cal.working_hours_between(b, a, MSK) == -4.0
    # 30 Dec 2025 09:00 → 13 Jan 2026 09:00 MSK: 30 Dec (9 h) + 12 Jan (9 h)
    assert cal.working_hours_between(msk(2025, 12, 30, 9), msk(2026, 1, 13, 9), MSK) == 18.0
    # the inverse of add_working_hours, shortened day and time zone included
    for start, hours, tz in [(msk(2026, 4, 30, 14), 4, MSK), (utc(2026, 2, 4, 6), 8, YEKT),
                             (msk(2025, 12, 30, 15), 30.25, MSK)]:
        assert cal.working_hours_between(start, cal.add_working_hours(start, hours, tz), tz) == pytest.approx(hours)


# --- SLA deadlines ----------------------------------------------------------------------------

def test_deadlines_defaults():
    first_seen = msk(2026, 1, 30, 16)  # Friday 16:00 MSK
    # non-urgent: 8 h → Mon 2 Feb 15:00 MSK; resolution: 7 working days after Fri 30 Jan
    # (2, 3, 4, 5, 6, 9, 10 Feb) → Tue 10 Feb 18:00 MSK = 15:00 UTC
    assert deadlines(first_seen, "roads", 0.2) == (utc(2026, 2, 2, 12), utc(2026, 2, 10, 15))
    # urgent (0.6 is the threshold): 4 h → 2 h Friday + 2 h Monday → Mon 11:00 MSK
    assert deadlines(first_seen, "roads", 0.6) == (utc(2026, 2, 2, 8), utc(2026, 2, 10, 15))
    # energy, urgent: 2 h → Fri 18:00 MSK = 15:00 UTC; non-urgent energy keeps the defaults
    assert deadlines(first_seen, "energy", 0.9)[0] == utc(2026, 1, 30, 15)
    assert deadlines(first_seen, "energy", 0.1)[0] == utc(2026, 2, 2, 12)


def test_deadlines_over_the_holidays_and_in_another_zone():
    # Tue 30 Dec 2025 15:00 MSK: 8 h → Mon 12 Jan 14:00 MSK; 7 working days (12–16, 19, 20 Jan)
    # → Tue 20 Jan 18:00 MSK = 15:00 UTC
    assert deadlines(msk(2025, 12, 30, 15), "housing", 0.0) == (utc(2026, 1, 12, 11), utc(2026, 1, 20, 15))
    # Wed 4 Feb 11:00 YEKT, urgent healthcare: 4 h → 15:00 YEKT = 10:00 UTC;
    # 7 working days after 4 Feb (5, 6, 9, 10, 11, 12, 13) → Fri 13 Feb 18:00 YEKT = 13:00 UTC
    assert deadlines(utc(2026, 2, 4, 6), "healthcare", 0.75, "Asia/Yekaterinburg") == (
        utc(2026, 2, 4, 10), utc(2026, 2, 13, 13))
    with pytest.raises(ValueError, match="time zone"):
        deadlines(utc(2026, 2, 4, 6), "roads", 0.1, "Europe/Nowhere")
    with pytest.raises(ValueError, match="urgency"):
        deadlines(utc(2026, 2, 4, 6), "roads", 1.5)


def test_sla_policy_file(tmp_path):
    policy = SlaPolicy.load()
    assert (policy.urgent_threshold, policy.defaults.first_answer_hours, policy.defaults.first_answer_hours_urgent,
            policy.defaults.resolution_days) == (0.6, 8, 4, 7)
    assert policy.targets("housing").first_answer_hours_urgent == 2
    assert policy.targets("housing").resolution_days == 7
    p = tmp_path / "sla.yaml"
    p.write_text("urgent_threshold: 0.6\ndefaults: {first_answer_hours: 8, first_answer_hours_urgent: 4, "
                 "resolution_days: 7}\nsectors: {roads: {first_answer_hour: 2}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="first_answer_hour"):
        SlaPolicy.load(p)


# --- responsible body -------------------------------------------------------------------------

def test_routing_real_table(table):
    kk, ro = "Краснодарский край", "Ростовская область"
    assert table.responsible_body(kk, "Усть-Лабинский район", "landscaping") == "Администрация Усть-Лабинского района"
    assert table.responsible_body(kk, "Усть-Лабинский район", "healthcare") == "Министерство здравоохранения Краснодарского края"
    assert table.responsible_body(kk, "город Краснодар", "energy") == "Россети Кубань"
    assert table.responsible_body(kk, "Кореновский район", "gas") == "Газпром газораспределение Краснодар"
    # a municipal sector in a municipality not listed → its administration (no region "*")
    assert table.responsible_body(kk, "Кореновский район", "landscaping") == "Администрация Кореновского района"
    assert table.responsible_body(ro, "город Шахты", "roads") == "Администрация города Шахты"
    assert table.responsible_body(ro, "город Шахты", "housing") == "Администрация города Шахты"
    assert table.responsible_body(ro, "Аксайский район", "social") == "Министерство труда и социального развития Ростовской области"


def test_routing_fallback_for_an_unknown_region(table):
    assert table.responsible_body("Тверская область", "Калининский район", "roads") == "Администрация Калининского района"
    assert table.responsible_body("Тверская область", "город Тверь", "healthcare") == "Администрация города Тверь"
    assert table.responsible_body("Тверская область", None, "roads") == "Органы власти: Тверская область"
    assert table.responsible_body(None, None, None) == "Органы власти: регион не определён"


def test_routing_lookup_order(tmp_path):
    p = tmp_path / "routing.yaml"
    p.write_text("""
fallback: {municipality: "Администрация {municipality_genitive_or_name}", region: "Органы власти: {region}"}
regions:
  Область:
    sectors: {roads: R-roads, "*": R-any}
    municipalities:
      М-ский район:
        oktmo: "12345000"
        sectors: {roads: M-roads, "*": M-any}
      Н-ский район:
        sectors: {waste: N-waste}
""", encoding="utf-8")
    t = RoutingTable.load(p)
    assert t.responsible_body("Область", "М-ский район", "roads") == "M-roads"      # municipality+sector
    assert t.responsible_body("Область", "М-ский район", "waste") == "M-any"        # municipality+"*"
    assert t.responsible_body("Область", "Н-ский район", "roads") == "R-roads"      # region+sector
    assert t.responsible_body("Область", "Н-ский район", "energy") == "R-any"       # region+"*"
    assert t.responsible_body("Область", None, None) == "R-any"
    assert t.responsible_body("Другая", "Н-ский район", "roads") == "Администрация Н-ского района"  # template
    assert sorted(t.rows()) == sorted([
        ("Область", "", "roads", "R-roads"), ("Область", "", "", "R-any"),
        ("Область", "12345000", "roads", "M-roads"), ("Область", "12345000", "", "M-any"),
        ("Область", "", "waste", "N-waste"),
    ])
    p.write_text(p.read_text(encoding="utf-8").replace('"12345000"', "12345000"), encoding="utf-8")
    with pytest.raises(ValueError, match="oktmo"):
        RoutingTable.load(p)


def test_routing_rows_for_clickhouse(table):
    rows = list(table.rows())
    assert ("Краснодарский край", "03657000", "landscaping", "Администрация Усть-Лабинского района") in rows
    assert ("Ростовская область", "60740000", "roads", "Администрация города Шахты") in rows
    assert ("Краснодарский край", "", "energy", "Россети Кубань") in rows
    oktmos = {o for _, o, _, _ in rows}
    assert oktmos == {"", "03657000", "03701000", "60740000", "60602000", "60701000"}
    assert all(len(r) == 4 and all(isinstance(x, str) for x in r) and r[3] for r in rows)


def test_report_day_is_the_moscow_date_of_the_logical_date():
    """A scheduled run of a daily product ('15 0 * * *' in Moscow time) starts its data interval at
    00:15 MSK = 21:15 UTC the evening before: Airflow's ``ds`` (the UTC date) would be a day early."""
    from datetime import date, datetime, timezone

    from reports.dag_defaults import report_day

    assert report_day(datetime(2026, 12, 4, 21, 15, tzinfo=timezone.utc)) == date(2026, 12, 5)
    assert report_day(datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)) == date(2026, 11, 20)     # as dag.test(logical_date=…) in tests
    assert report_day(datetime(2026, 11, 20, 20, 59, tzinfo=timezone.utc)) == date(2026, 11, 20)
