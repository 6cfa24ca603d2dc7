"""The web layer (`tsur dashboard`): the built-in dashboard and the Open311 GeoReport v2 API.

An entry point like the CLI: it reads the warehouse through ``warehouse.session`` and named SQL
(``sql/queries``), publishes to the broker through ``intake.producer``; nothing imports it.
"""
