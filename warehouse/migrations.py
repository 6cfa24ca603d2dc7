"""Apply the numbered migrations in sql/migrations idempotently (``tsur migrate``).

Each file ``NNNN_name.sql`` holds statements separated by ';' at a line end. A file is applied
once and recorded with its checksum in ``tsur_schema_migrations``; every statement is itself
idempotent (IF NOT EXISTS), so a run interrupted half-way is finished by the next run.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tsur.config import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "sql" / "migrations"
_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS tsur_schema_migrations
(
    version     UInt32,
    name        String,
    checksum    String,
    applied_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
"""


class MigrationError(Exception):
    """A migration problem; the message says what to do."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    def statements(self) -> list[str]:
        return split_statements(self.sql)


def split_statements(sql: str) -> list[str]:
    """Split on ';' at line ends, dropping comment-only chunks."""
    out = []
    for chunk in re.split(r";\s*(?:\n|$)", sql):
        body = "\n".join(line for line in chunk.splitlines() if not line.strip().startswith("--")).strip()
        if body:
            out.append(body)
    return out


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _FILE_RE.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: migration files must be named NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number; renumber the newer one")
    return found


def applied(client) -> dict[int, str]:
    # Create the ledger only when it is missing: a least-privilege user (the worker) may check
    # that the schema is current but may not run DDL, not even CREATE … IF NOT EXISTS.
    if not int(client.command("EXISTS TABLE tsur_schema_migrations")):
        client.command(LEDGER_DDL)
    rows = client.query("SELECT version, argMax(checksum, applied_at) FROM tsur_schema_migrations GROUP BY version").result_rows
    return {int(v): c for v, c in rows}


def pending(client, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    done = applied(client)
    out = []
    for mig in discover(directory):
        if mig.version not in done:
            out.append(mig)
        elif done[mig.version] != mig.checksum:
            raise MigrationError(
                f"migration {mig.path.name} changed after it was applied; revert it and add a new numbered migration instead"
            )
    return out


def migrate(client, directory: Path = MIGRATIONS_DIR, log=print) -> list[Migration]:
    """Apply what is pending; return the migrations applied now."""
    todo = pending(client, directory)
    if todo and str(client.command("SELECT engine FROM system.tables WHERE database = currentDatabase() "
                                   "AND name = 'tsur_schema_migrations'")).startswith("Replicated"):
        raise MigrationError(
            f"this warehouse is a ClickHouse cluster (its ledger is replicated) and {todo[0].path.name} is not applied; "
            f"apply it with `tsur cluster-ddl --after {todo[0].version - 1}` | clickhouse-client --multiquery (docs/cluster.md)"
        )
    for mig in todo:
        for statement in mig.statements():
            client.command(statement)
        client.insert(
            "tsur_schema_migrations",
            [[mig.version, mig.name, mig.checksum, datetime.now(timezone.utc)]],
            column_names=["version", "name", "checksum", "applied_at"],
        )
        log(f"applied migration {mig.path.name}")
    return todo


def migrate_with_retention(dsn: str, lock_timeout: float, retention_days: dict[str, int], log=print) -> None:
    """Apply pending migrations and the retention TTLs under the store lock (worker start, `tsur
    migrate`'s quiet form in `tsur demo`, `tsur collect` and the supervisor)."""
    from warehouse import retention
    from warehouse.session import warehouse_session

    with warehouse_session(dsn, lock_timeout) as client:
        migrate(client, log=log)
        retention.apply(client, retention_days, log=log)
