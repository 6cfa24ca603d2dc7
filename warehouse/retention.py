"""Retention (TTL) of the warehouse tables: personal data is kept no longer than needed,
aggregates are kept.

Raw posts hold the (masked) texts and pseudonymous authors: the shortest period. Enriched posts
hold no text. Incidents, their status history and alerts are the record of public appeals.
Daily aggregates (report_*) and the list of published files hold no personal data and are kept.
Each period comes from the environment (``TSUR_RETENTION_<KIND>_DAYS``, 0 = keep forever) and is
applied by ``tsur migrate`` / worker start with ``ALTER TABLE … MODIFY TTL`` (old parts are
dropped by ClickHouse's background merges; existing parts are not rewritten at once). On a cluster
(docs/cluster.md) a table is Distributed over ``<table>_local``: the TTL goes to the local table,
ON CLUSTER.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from warehouse.session import WarehouseError


@dataclass(frozen=True)
class Rule:
    table: str
    column: str
    kind: str            # which TSUR_RETENTION_<KIND>_DAYS setting applies


RULES = (
    Rule("posts_raw", "created_at", "raw"),
    Rule("posts_enriched", "created_at", "enriched"),
    Rule("incidents", "last_seen", "incidents"),
    Rule("incident_status_events", "at", "incidents"),
    Rule("alerts", "window_end", "incidents"),
    Rule("incident_days", "day", "incidents"),
)


def ttl_clause(rule: Rule, days: int) -> str:
    return f"TTL {rule.column} + toIntervalDay({days})"


def current_ttl(client, table: str) -> str:
    rows = client.query("SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
                        parameters={"t": table}).result_rows
    if not rows:
        raise WarehouseError(f"table {table} does not exist; run `tsur migrate` first")
    ddl = rows[0][0]
    start = ddl.find(" TTL ")
    if start < 0:
        return ""
    end = ddl.find(" SETTINGS ", start)
    return ddl[start + 1:end if end > 0 else None].strip()


def storage(client, table: str) -> tuple[str, str]:
    """The table holding ``table``'s rows and the ON CLUSTER clause its ALTERs need: ``table`` itself
    on one server; on a cluster ``table`` is Distributed and the rows are in its local table."""
    rows = client.query("SELECT engine, engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
                        parameters={"t": table}).result_rows
    if not rows or rows[0][0] != "Distributed":
        return table, ""
    m = re.match(r"Distributed\('([^']+)', *[^,]+, *'(\w+)'", rows[0][1])
    if not m:
        raise WarehouseError(f"cannot read the cluster and local table of {table} from {rows[0][1]!r}; see docs/cluster.md")
    return m.group(2), f" ON CLUSTER '{m.group(1)}'"


def apply(client, days_by_kind: dict[str, int], log=print) -> list[str]:
    """Make each table's TTL match the policy (``Settings.retention_days``); returns the tables changed."""
    changed = []
    for rule in RULES:
        days = days_by_kind[rule.kind]
        want = ttl_clause(rule, days) if days > 0 else ""
        table, on_cluster = storage(client, rule.table)
        if current_ttl(client, table) == want:
            continue
        # identifiers and the number come from RULES, validated settings and the server's own
        # system.tables (storage), never from user text
        if want:
            client.command(f"ALTER TABLE {table}{on_cluster} MODIFY {want}", settings={"materialize_ttl_after_modify": 0})
        else:
            client.command(f"ALTER TABLE {table}{on_cluster} REMOVE TTL")
        log(f"retention: {rule.table} {'keeps rows ' + str(days) + ' days (' + rule.column + ')' if days else 'keeps rows forever'}")
        changed.append(rule.table)
    return changed
