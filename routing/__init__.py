"""Routing of incidents: staged SLA deadlines on the Russian production calendar and the body
responsible for a (region, municipality, sector).

- `routing.production_calendar` — working days and hours (`routing/data/production_calendar.yaml`)
- `routing.deadlines` — the SLA policy (`routing/data/sla.yaml`) and `deadlines()`
- `routing.responsible_body` — the routing table (`routing/data/routing.yaml`)

Pure: standard library and PyYAML only.
"""
