"""Staged SLA deadlines for an incident: first answer due and resolution due.

The policy (`routing/data/sla.yaml`, sources and product choices documented there) gives, per
sector, working hours to the first answer (fewer for urgent incidents) and working days to the
resolution; `deadlines()` applies it on the production calendar in the region's time zone.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from routing.production_calendar import ProductionCalendar

DEFAULT_SLA = Path(__file__).resolve().parent / "data" / "sla.yaml"
_TARGET_KEYS = ("first_answer_hours", "first_answer_hours_urgent", "resolution_days")


@dataclass(frozen=True)
class SlaTargets:
    """The targets of one sector."""

    first_answer_hours: float
    first_answer_hours_urgent: float
    resolution_days: int


@dataclass(frozen=True)
class SlaPolicy:
    """Default targets, per-sector overrides and the urgency threshold."""

    urgent_threshold: float
    defaults: SlaTargets
    sectors: Mapping[str, SlaTargets] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_SLA) -> SlaPolicy:
        """Read and check the YAML policy; a sector block overrides only the keys it names."""
        path = Path(path)
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        defaults = _targets(SlaTargets(0, 0, 1), doc.get("defaults") or {}, f"{path}: defaults", complete=True)
        sectors = {str(s): _targets(defaults, block or {}, f"{path}: sectors.{s}")
                   for s, block in (doc.get("sectors") or {}).items()}
        threshold = doc.get("urgent_threshold")
        if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise ValueError(f"{path}: urgent_threshold must be a number in [0, 1], got {threshold!r}")
        return cls(float(threshold), defaults, sectors)

    def targets(self, sector: str) -> SlaTargets:
        """The targets of `sector` (the defaults when it has no override)."""
        return self.sectors.get(sector, self.defaults)

    def is_urgent(self, urgency: float) -> bool:
        """Urgent when urgency (in [0, 1]) reaches the threshold."""
        if not 0 <= urgency <= 1:
            raise ValueError(f"urgency must be in [0, 1], got {urgency!r}")
        return urgency >= self.urgent_threshold


def _targets(base: SlaTargets, block: Mapping, where: str, complete: bool = False) -> SlaTargets:
    unknown = set(block) - set(_TARGET_KEYS)
    missing = [k for k in _TARGET_KEYS if k not in block] if complete else []
    if unknown or missing:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}, missing keys {missing}; "
                         f"allowed: {', '.join(_TARGET_KEYS)}")
    out = replace(base, **block)
    for k in ("first_answer_hours", "first_answer_hours_urgent"):
        v = getattr(out, k)
        if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
            raise ValueError(f"{where}: {k} must be a positive number of working hours, got {v!r}")
    if out.first_answer_hours_urgent > out.first_answer_hours:
        raise ValueError(f"{where}: first_answer_hours_urgent ({out.first_answer_hours_urgent}) exceeds "
                         f"first_answer_hours ({out.first_answer_hours})")
    if isinstance(out.resolution_days, bool) or not isinstance(out.resolution_days, int) or out.resolution_days < 1:
        raise ValueError(f"{where}: resolution_days must be an integer >= 1, got {out.resolution_days!r}")
    return out


@cache
def default_policy() -> SlaPolicy:
    """The policy from `routing/data/sla.yaml` (read once)."""
    return SlaPolicy.load()


@cache
def default_calendar() -> ProductionCalendar:
    """The calendar from `routing/data/production_calendar.yaml` (read once)."""
    return ProductionCalendar.load()


def deadlines(first_seen: datetime, sector: str, urgency: float, region_tz: str = "Europe/Moscow", *,
              policy: SlaPolicy | None = None,
              calendar: ProductionCalendar | None = None) -> tuple[datetime, datetime]:
    """(first answer due, resolution due) as aware UTC datetimes for an incident first seen at
    `first_seen` (aware) in a region whose local time is `region_tz`."""
    policy = policy or default_policy()
    calendar = calendar or default_calendar()
    try:
        tz = ZoneInfo(region_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {region_tz!r} (expected an IANA name like 'Europe/Moscow')") from None
    t = policy.targets(sector)
    hours = t.first_answer_hours_urgent if policy.is_urgent(urgency) else t.first_answer_hours
    return (calendar.add_working_hours(first_seen, hours, tz),
            calendar.add_working_days(first_seen, t.resolution_days, tz))
