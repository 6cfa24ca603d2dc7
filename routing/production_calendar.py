"""The Russian production calendar: working days, working hours, and working-time arithmetic.

A working day runs from `day_start` to `day_end` (09:00–18:00 by default, the lunch break is not
subtracted); a shortened pre-holiday day ends one hour earlier. Working time is counted in the
region's local time (`tz`); results are aware datetimes in UTC. The calendar data lives in
`routing/data/production_calendar.yaml` (format documented there); a date in a year the file does
not cover raises ValueError naming the year and the file.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

DEFAULT_CALENDAR = Path(__file__).resolve().parent / "data" / "production_calendar.yaml"
SHORTENING = timedelta(hours=1)  # ТК РФ ст. 95: a pre-holiday day is one hour shorter
DAY_ENDS_KEPT = 10_000           # remembered answers of add_working_days (days × terms × zones)


@dataclass(frozen=True)
class CalendarYear:
    """One year of the calendar: the exceptions to 'Mon–Fri work, Sat–Sun rest'."""

    source: str
    days_off: frozenset[date]
    working_weekends: frozenset[date]
    shortened: frozenset[date]


class ProductionCalendar:
    """Working days and hours of the Russian five-day week; see the module docstring."""

    def __init__(self, years: Mapping[int, CalendarYear], path: Path,
                 day_start: time = time(9), day_end: time = time(18)) -> None:
        span = datetime.combine(date.min, day_end) - datetime.combine(date.min, day_start)
        if span <= SHORTENING:
            raise ValueError(f"working day {day_start}–{day_end} must be longer than one hour")
        self.years = dict(years)
        self.path = path
        self.day_start = day_start
        self.day_end = day_end
        self._day_ends: dict[tuple[date, int, ZoneInfo], datetime] = {}   # add_working_days by (local day, days, zone)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_CALENDAR,
             day_start: time = time(9), day_end: time = time(18)) -> ProductionCalendar:
        """Read and check the YAML calendar (see the format at the top of the file)."""
        path = Path(path)
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        years = {int(y): _parse_year(int(y), block or {}, path) for y, block in (doc.get("years") or {}).items()}
        return cls(years, path, day_start, day_end)

    def _year(self, d: date) -> CalendarYear:
        if isinstance(d, datetime):
            raise TypeError("pass a date, not a datetime: use moment.astimezone(tz).date()")
        try:
            return self.years[d.year]
        except KeyError:
            covered = ", ".join(map(str, sorted(self.years))) or "none"
            raise ValueError(f"the production calendar has no year {d.year} (covered: {covered}); "
                             f"add it to {self.path}") from None

    def is_working_day(self, d: date) -> bool:
        """True for Mon–Fri unless a holiday or a transferred day off, and for working weekends."""
        y = self._year(d)
        if d.weekday() < 5:
            return d not in y.days_off
        return d in y.working_weekends

    def working_hours(self, d: date) -> tuple[time, time] | None:
        """(start, end) of the working period of `d` in local time; None on a day off."""
        if not self.is_working_day(d):
            return None
        if d in self._year(d).shortened:
            return self.day_start, (datetime.combine(d, self.day_end) - SHORTENING).time()
        return self.day_start, self.day_end

    def _periods(self, first: date, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
        """Working periods (UTC start, UTC end) from the local date `first` on, day by day."""
        d = first
        while True:
            hours = self.working_hours(d)  # raises ValueError past the last covered year
            if hours is not None:
                yield (datetime.combine(d, hours[0], tz).astimezone(UTC),
                       datetime.combine(d, hours[1], tz).astimezone(UTC))
            d += timedelta(days=1)

    def add_working_hours(self, start: datetime, hours: float, tz: ZoneInfo) -> datetime:
        """The moment `hours` of working time after `start` (UTC).

        A start outside working hours begins at the next working period; a deadline that falls
        exactly at the end of a working day stays there (18:00, not the next morning).
        """
        cur = _utc(start, "start")
        if hours < 0:
            raise ValueError(f"hours must be >= 0, got {hours}")
        remaining = timedelta(hours=hours)
        for begin, end in self._periods(cur.astimezone(tz).date(), tz):
            if end <= cur:
                continue
            begin = max(begin, cur)
            if begin + remaining <= end:
                return begin + remaining
            remaining -= end - begin
        raise AssertionError("unreachable: _periods is endless")

    def add_working_days(self, start: datetime, days: int, tz: ZoneInfo) -> datetime:
        """The end of the `days`-th working day after the local day of `start` (UTC)."""
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"days must be an integer >= 1, got {days!r}")
        first = _utc(start, "start").astimezone(tz).date()
        key = (first, days, tz)
        end = self._day_ends.get(key)       # the stream asks for the same few days all day long
        if end is None:
            if len(self._day_ends) >= DAY_ENDS_KEPT:
                self._day_ends.clear()
            end = self._day_ends[key] = self._add_working_days(first, days, tz)
        return end

    def _add_working_days(self, d: date, days: int, tz: ZoneInfo) -> datetime:
        while days:
            d += timedelta(days=1)
            if self.is_working_day(d):
                days -= 1
        end = self.working_hours(d)[1]  # type: ignore[index]  # d is a working day
        return datetime.combine(d, end, tz).astimezone(UTC)

    def working_hours_between(self, a: datetime, b: datetime, tz: ZoneInfo) -> float:
        """Working hours in [a, b); negative when b is before a."""
        a, b = _utc(a, "a"), _utc(b, "b")
        if b < a:
            return -self.working_hours_between(b, a, tz)
        total = timedelta()
        for begin, end in self._periods(a.astimezone(tz).date(), tz):
            if begin >= b:
                break
            lo, hi = max(begin, a), min(end, b)
            if hi > lo:
                total += hi - lo
        return total / timedelta(hours=1)


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (got naive {moment.isoformat()})")
    return moment.astimezone(UTC)


def _parse_year(year: int, block: Mapping, path: Path) -> CalendarYear:
    """Check one year's block: dates of that year, each list holding only what it may hold."""
    unknown = set(block) - {"source", "days_off", "working_weekends", "shortened"}
    if unknown or not block.get("source"):
        raise ValueError(f"{path}: year {year} needs `source`, `days_off`, `working_weekends`, "
                         f"`shortened` (unknown keys: {sorted(unknown)})")

    def dates(key: str) -> frozenset[date]:
        out = frozenset(block.get(key) or ())
        for d in out:
            if not isinstance(d, date) or isinstance(d, datetime) or d.year != year:
                raise ValueError(f"{path}: {year}.{key} has {d!r}, expected a date in {year} (YYYY-MM-DD)")
        return out

    y = CalendarYear(str(block["source"]), dates("days_off"), dates("working_weekends"), dates("shortened"))
    for d in y.days_off:
        if d.weekday() >= 5:
            raise ValueError(f"{path}: {year}.days_off lists {d} (a weekend): list only Mon–Fri days off")
    for d in y.working_weekends:
        if d.weekday() < 5:
            raise ValueError(f"{path}: {year}.working_weekends lists {d} (a weekday)")
    for d in y.shortened:
        if d in y.days_off or (d.weekday() >= 5 and d not in y.working_weekends):
            raise ValueError(f"{path}: {year}.shortened lists {d}, which is not a working day")
    return y
