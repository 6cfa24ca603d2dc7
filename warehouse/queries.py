"""Named SQL queries kept in sql/queries/NAME.sql (no SQL assembled from user strings)."""
from __future__ import annotations

from functools import lru_cache

from tsur.config import PROJECT_ROOT

QUERIES_DIR = PROJECT_ROOT / "sql" / "queries"


@lru_cache(maxsize=None)
def named_query(name: str) -> str:
    path = QUERIES_DIR / f"{name}.sql"
    if not path.exists():
        raise KeyError(f"no named query {name!r} in {QUERIES_DIR}")
    return path.read_text(encoding="utf-8")
