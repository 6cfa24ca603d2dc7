"""The routing seam of the stream: responsible body and staged deadlines of a new incident,
from the routing package (routing table + SLA policy on the production calendar)."""
from __future__ import annotations

from datetime import datetime

from routing.deadlines import SlaPolicy, deadlines
from routing.production_calendar import ProductionCalendar
from routing.responsible_body import RoutingTable
from routing.timezones import region_timezone


def make_route():
    table = RoutingTable.load()
    policy = SlaPolicy.load()
    calendar = ProductionCalendar.load()

    def route(region: str, municipality: str, sector: str, first_seen: datetime, urgency: float):
        body = table.responsible_body(region, municipality, sector)
        try:
            first_due, final_due = deadlines(first_seen, sector, urgency, region_timezone(region), policy=policy, calendar=calendar)
        except ValueError:  # a date outside the production calendar: no deadline rather than no incident
            first_due = final_due = None
        return body, first_due, final_due

    return route
