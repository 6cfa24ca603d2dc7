"""The cluster version of the schema, generated from the same migration files (``tsur cluster-ddl``).

One source of truth: sql/migrations/*.sql (and the ledger DDL of warehouse/migrations.py) is read
statement by statement and each statement is rewritten for a ClickHouse cluster (docs/cluster.md):

* a big fact table ``t`` (``LAYOUT[t].sharding_key`` set) becomes ``t_local`` ON CLUSTER with the
  Replicated variant of its engine (Keeper path per shard) plus a Distributed table under the
  original name ``t``, sharded by that key, so every query keeps its table names;
* a small table (``sharding_key`` None) becomes one Replicated table with a copy on every node (the
  Keeper path has no ``{shard}``), so lightweight DELETE and FINAL work as on a single server;
* a view keeps its body (it reads the Distributed tables by their original names), ON CLUSTER;
* a materialised view triggers on the local source table and writes to the local target table;
* ALTER goes ON CLUSTER to the local table (and, for column changes, to the Distributed one too);
* INSERT … SELECT back-fills are kept: run once, on the node the file is applied to;
* a table rebuild (a new table, INSERT … SELECT, ``EXCHANGE TABLES old AND new``, ``DROP TABLE IF
  EXISTS new``) swaps and drops ON CLUSTER: the local tables of a sharded pair, the replicas of a
  replicated one (both placed alike, same columns).

The rewriter knows these shapes only. Anything else (a new engine, a table missing from ``LAYOUT``,
an ALTER it cannot place, a materialised view with a JOIN, …) raises ``ClusterDDLError`` quoting the
statement, so a future migration can never turn silently into wrong cluster DDL. Each statement is
matched twice: by a token-aware pattern over the text (string literals and comments masked), which
keeps the text as written, and by chDB's parser (``EXPLAIN AST``), which must agree on the statement
kind, the object, the engine, the tables read and the ALTER commands before anything is emitted.
"""
from __future__ import annotations

import functools
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from warehouse.migrations import LEDGER_DDL, MIGRATIONS_DIR, Migration, discover, split_statements

DEFAULT_CLUSTER = "{cluster}"       # a macro each node defines in <macros>
DEFAULT_DATABASE = "default"        # the database deploy/clickhouse/users.d/tsur-users.xml grants on
LEDGER = "tsur_schema_migrations"


@dataclass(frozen=True)
class Placement:
    sharding_key: str | None        # None: not sharded, a replica on every node
    reason: str


# Every table the migrations create, where its rows live on a cluster, and why. ReplacingMergeTree
# and AggregatingMergeTree merge equal keys only within one shard: a sharding key must send every
# version of a row (same ORDER BY key) to the same shard, i.e. be a function of columns that never
# change for that key.
LAYOUT: dict[str, Placement] = {
    "posts_raw": Placement(
        "cityHash64(post_id)",
        "the ReplacingMergeTree key itself, so a re-delivered post lands beside its first copy. Not "
        "region_hint: it is a collector's hint, empty for many sources and not guaranteed equal when two "
        "collectors see one post, and posts_raw is read a whole day at a time (posts_daily), never per "
        "region, so a region key would bring skew and nothing else."),
    "posts_enriched": Placement(
        "cityHash64(post_id)",
        "the ReplacingMergeTree key. Not region: a post's region comes from the place resolver and may "
        "change when the post is enriched again by a newer model or gazetteer, which on a region key would "
        "leave two versions of one post on two shards (FINAL in quality checks and the stream's recent "
        "complaints would count it twice)."),
    "incidents": Placement(
        "cityHash64(region)",
        "the region is fixed when an incident opens (it is in the place key hashed into incident_id) and "
        "copied into every later version, so all versions of an incident share a shard; a region's "
        "incidents live on one shard, so the per-region reports and dashboards (WHERE region = …) read one "
        "shard with optimize_skip_unused_shards."),
    "incident_status_events": Placement(
        "cityHash64(incident_id)",
        "there is no region column; incident_id leads the ReplacingMergeTree key (incident_id, event_id), "
        "so every version of an event, and all events of an incident, share a shard."),
    "alerts": Placement(
        "cityHash64(alert_id)",
        "the ReplacingMergeTree key. Not region: it is empty for the alerts keyed by municipality ОКТМО "
        "(nearly all), which would put every alert on one shard; alerts are few, locality buys nothing."),
    "incident_days": Placement(
        "cityHash64(region)",
        "must shard exactly as incidents: incident_days_mv writes the rows of an insert into incidents_local "
        "on the shard that holds the incident, and the back-fill through the Distributed table must land "
        "beside them (same ReplacingMergeTree key, region leads it)."),
    "incident_cells_daily": Placement(
        "cityHash64(region)",
        "as incidents, for the same reason as incident_days: incident_cells_daily_mv writes on the "
        "incident's shard and the back-fill must meet those rows (the uniqExact/maxMap states would also "
        "merge across shards, but co-located keys keep one row per cell after merges)."),
    "routing": Placement(
        None, "a small lookup of responsible bodies, read by every node: a copy on each."),
    "report_posts_daily": Placement(
        None, "a small daily product; the report replaces a region-day with a lightweight DELETE and an INSERT, "
        "which a Distributed table does not support."),
    "report_heatmap_daily": Placement(None, "as report_posts_daily (DELETE + INSERT per region-day, read with FINAL)."),
    "report_heatmap_daily_by_month": Placement(
        None, "the month-partitioned rebuild of report_heatmap_daily (0014): swapped with it and dropped, so it must "
        "be placed exactly as report_heatmap_daily."),
    "report_sla_daily": Placement(None, "as report_posts_daily (DELETE + INSERT per region-day, read with FINAL)."),
    "report_sla_overdue": Placement(None, "as report_posts_daily (DELETE + INSERT per region-day, read with FINAL)."),
    "report_chronic_problems": Placement(None, "as report_posts_daily (DELETE + INSERT per region-day, read with FINAL)."),
    "published_reports": Placement(None, "the list of published files, replaced per region-day with DELETE + INSERT."),
    "api_keys": Placement(None, "a handful of rows read with FINAL on every API request: a copy on each node."),
    "collector_cursors": Placement(None, "one row per collected source, read when a collector starts and written about "
                                         "once a second: a small copy on each node."),
    "post_deletions": Placement(
        "cityHash64(post_id)",
        "as posts_raw (the ReplacingMergeTree key), so the mark of a deleted post lives on its post's shard."),
    LEDGER: Placement(None, "the migrations ledger: any node answers `tsur migrate`'s schema check."),
}

_ENGINES = ("MergeTree", "ReplacingMergeTree", "AggregatingMergeTree", "SummingMergeTree",
            "CollapsingMergeTree", "VersionedCollapsingMergeTree")
_TABLE_CLAUSES = ("PARTITION BY", "ORDER BY", "PRIMARY KEY", "SAMPLE BY", "TTL", "SETTINGS", "COMMENT")
# ALTER commands (chDB's names) a sharded table gets on both the local and the Distributed table,
# and those only the local (storage) table has; anything else is refused.
_COLUMN_COMMANDS = {"ADD_COLUMN", "DROP_COLUMN", "MODIFY_COLUMN", "RENAME_COLUMN", "COMMENT_COLUMN"}
_STORAGE_COMMANDS = {"MODIFY_TTL", "REMOVE_TTL", "MATERIALIZE_TTL", "ADD_INDEX", "DROP_INDEX", "MATERIALIZE_INDEX",
                     "ADD_PROJECTION", "DROP_PROJECTION", "MATERIALIZE_PROJECTION", "MODIFY_SETTING"}
_CLUSTER_RE = re.compile(r"^[A-Za-z0-9_.{}-]+$")
_DATABASE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ClusterDDLError(Exception):
    """A statement the cluster rewriter does not know; the message quotes it."""


@dataclass(frozen=True)
class ClusterStatement:
    sql: str            # one statement, no trailing ';'
    source: str         # the migration file it comes from ('ledger' for the ledger table)
    kind: str           # local table | distributed table | replicated table | view | materialized view | alter | insert | exchange | drop | ledger row
    name: str           # the object it creates or changes
    note: str = ""      # a comment printed above it


# ---------------------------------------------------------------- text and AST helpers
def mask(sql: str) -> str:
    """The statement with the insides of string literals and quoted identifiers replaced by '_' and
    comments by spaces: same length, so positions found in it slice the original text."""
    out = list(sql)
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'`\"":
            j = i + 1
            while j < n:
                if sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:       # '' inside a string
                        j += 2
                        continue
                    break
                j += 1
            for k in range(i + 1, min(j, n)):
                out[k] = "_" if sql[k] != "\n" else "\n"
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                out[k] = " " if sql[k] != "\n" else "\n"
            i = j
        else:
            i += 1
    return "".join(out)


def _closing(masked: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(masked)):
        if masked[i] == "(":
            depth += 1
        elif masked[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses")


class Ast:
    """The text tree of ``EXPLAIN AST``: (depth, node) lines."""

    def __init__(self, text: str):
        self.lines = [(len(line) - len(line.lstrip(" ")), line.strip()) for line in text.splitlines() if line.strip()]
        if not self.lines:
            raise ValueError("empty AST")

    @property
    def root(self) -> str:
        return self.lines[0][1]

    def nodes(self, prefix: str, depth: int | None = None) -> list[str]:
        return [text for d, text in self.lines if text.startswith(prefix) and (depth is None or d == depth)]

    def tables(self) -> list[str]:
        """Every table a query reads (one entry per reference), aliases dropped."""
        return [t.split()[1] for t in self.nodes("TableIdentifier ")]

    def engine(self) -> str | None:
        for i, (d, text) in enumerate(self.lines):
            if text.startswith("Storage definition"):
                nxt = self.lines[i + 1] if i + 1 < len(self.lines) else (0, "")
                return nxt[1].split()[1] if nxt[1].startswith("Function ") else None
        return None

    def table_functions(self) -> list[str]:
        """Table functions a query reads (url(), remote(), …): a shape the rewriter does not place."""
        out = []
        for i, (d, text) in enumerate(self.lines[:-1]):
            nd, nxt = self.lines[i + 1]
            if text.startswith("TableExpression") and nd == d + 1 and nxt.startswith("Function "):
                out.append(nxt.split()[1])
        return out

    def columns(self) -> list[str]:
        return [t.split()[1] for t in self.nodes("ColumnDeclaration ")]

    def identifiers(self) -> list[str]:
        return [t.split()[1] for t in self.nodes("Identifier ")]


@functools.lru_cache(maxsize=4096)
def chdb_explain(sql: str) -> str:
    """chDB's parse tree of one statement (raises on a syntax error). Needs no store: it must not run
    in a process that holds a chDB store open (chDB serves one store per process)."""
    import chdb

    return chdb.query("EXPLAIN AST " + sql, "TabSeparatedRaw").bytes().decode()


# ---------------------------------------------------------------- the rewriter
class _Renderer:
    def __init__(self, cluster: str, database: str, explain: Callable[[str], str]):
        if not _CLUSTER_RE.match(cluster):
            raise ClusterDDLError(f"cluster name {cluster!r}: letters, digits, _ . - and {{macros}} only")
        if not _DATABASE_RE.match(database):
            raise ClusterDDLError(f"database name {database!r} is not a plain identifier")
        self.on_cluster = f"ON CLUSTER '{cluster}'"
        self.cluster = cluster
        self.database = database
        self.explain = explain
        self.objects: dict[str, str] = {}          # name → kind ('sharded' | 'replicated' | 'view' | 'materialized view')
        self.columns: dict[str, list[str]] = {}    # table → its columns as created
        self.altered: set[str] = set()             # tables whose columns an ALTER changed since (not followed)

    # -- helpers
    def fail(self, source: str, stmt: str, why: str) -> ClusterDDLError:
        return ClusterDDLError(f"{source}: {why}; the cluster rewriter (warehouse/cluster_ddl.py) does not know "
                               f"this statement, teach it or change the migration:\n{stmt}")

    def ast(self, source: str, stmt: str) -> Ast:
        try:
            return Ast(self.explain(stmt))
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise self.fail(source, stmt, f"chDB cannot parse it ({first[:200]})") from None

    def known(self, source: str, stmt: str, names: list[str], tree: Ast | None = None) -> None:
        if tree is not None and tree.table_functions():
            raise self.fail(source, stmt, f"it reads table functions {tree.table_functions()}")
        for name in names:
            if "." in name:
                raise self.fail(source, stmt, f"{name}: database-qualified names are not supported")
            if name not in self.objects:
                raise self.fail(source, stmt, f"it reads {name}, which no earlier migration creates")

    # -- dispatch
    def statement(self, source: str, stmt: str) -> list[ClusterStatement]:
        m = mask(stmt)
        if re.search(r"\bON\s+CLUSTER\b", m, re.I):
            raise self.fail(source, stmt, "migrations are single-node DDL; ON CLUSTER is added here")
        if re.match(r"CREATE\s+TABLE\s", m, re.I):
            return self.create_table(source, stmt, m)
        if re.match(r"CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s", m, re.I):
            return self.create_view(source, stmt, m)
        if re.match(r"CREATE\s+MATERIALIZED\s+VIEW\s", m, re.I):
            return self.create_materialized_view(source, stmt, m)
        if re.match(r"ALTER\s+TABLE\s", m, re.I):
            return self.alter(source, stmt, m)
        if re.match(r"INSERT\s+INTO\s", m, re.I):
            return self.insert(source, stmt, m)
        if re.match(r"EXCHANGE\s+TABLES\s", m, re.I):
            return self.exchange(source, stmt, m)
        if re.match(r"DROP\s+TABLE\s", m, re.I):
            return self.drop(source, stmt, m)
        raise self.fail(source, stmt, "unknown kind of statement")

    # -- CREATE TABLE
    def create_table(self, source: str, stmt: str, m: str) -> list[ClusterStatement]:
        head = re.match(r"CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\s*\(", m, re.I)
        if not head:
            raise self.fail(source, stmt, "expected CREATE TABLE IF NOT EXISTS <name> (<columns>) ENGINE = …")
        name = head.group(1)
        cols_open = head.end() - 1
        try:
            cols_close = _closing(m, cols_open)
        except ValueError:
            raise self.fail(source, stmt, "unbalanced parentheses") from None
        eng = re.compile(r"\s*ENGINE\s*=\s*(\w+)", re.I).match(m, cols_close + 1)
        if not eng:
            raise self.fail(source, stmt, "expected ENGINE = … after the columns")
        engine, args, rest_at = eng.group(1), "", eng.end()
        if rest_at < len(m) and m[rest_at] == "(":
            try:
                close = _closing(m, rest_at)
            except ValueError:
                raise self.fail(source, stmt, "unbalanced parentheses") from None
            args, rest_at = stmt[rest_at + 1:close].strip(), close + 1
        rest = stmt[rest_at:]
        if engine not in _ENGINES:
            raise self.fail(source, stmt, f"engine {engine} (known: {', '.join(_ENGINES)}; Replicated* is added here)")
        clause = mask(rest).strip()
        if clause and not any(clause.upper().startswith(c) for c in _TABLE_CLAUSES):
            raise self.fail(source, stmt, f"unexpected text after the engine: {rest.strip()[:60]!r}")
        if name not in LAYOUT:
            raise self.fail(source, stmt, f"table {name} has no entry in LAYOUT (sharded by which key, or a copy on "
                                          "every node, and why)")
        if name in self.objects:
            raise self.fail(source, stmt, f"{name} is created twice")
        tree = self.ast(source, stmt)
        if (tree.root.split()[:2] != ["CreateQuery", name] or tree.engine() != engine or not tree.nodes("Columns definition")
                or tree.nodes("SelectWithUnionQuery", 1) or tree.nodes("ViewTargets")):
            raise self.fail(source, stmt, f"chDB reads it differently (as {tree.root!r}, engine {tree.engine()})")
        columns = tree.columns()
        columns_sql = stmt[cols_open:cols_close + 1]
        self.columns[name] = columns
        placement = LAYOUT[name]
        if placement.sharding_key is None:
            self.objects[name] = "replicated"
            replicated = self.engine(engine, f"/clickhouse/tables/all/{{database}}/{name}", "{shard}-{replica}", args)
            sql = f"CREATE TABLE IF NOT EXISTS {name} {self.on_cluster}\n{columns_sql}\nENGINE = {replicated}{rest}"
            return [ClusterStatement(sql, source, "replicated table", name,
                                     f"{name}: a copy on every node (not sharded): {placement.reason}")]
        key_tree = self.ast(source, f"SELECT {placement.sharding_key}")
        missing = [c for c in key_tree.identifiers() if c not in columns]
        if missing:
            raise ClusterDDLError(f"LAYOUT[{name!r}].sharding_key {placement.sharding_key} names columns "
                                  f"{name} does not have: {missing}")
        self.objects[name] = "sharded"
        local = f"{name}_local"
        replicated = self.engine(engine, f"/clickhouse/tables/{{shard}}/{{database}}/{local}", "{replica}", args)
        return [
            ClusterStatement(f"CREATE TABLE IF NOT EXISTS {local} {self.on_cluster}\n{columns_sql}\nENGINE = {replicated}{rest}",
                             source, "local table", local,
                             f"{name}: sharded by {placement.sharding_key}: {placement.reason}"),
            ClusterStatement(f"CREATE TABLE IF NOT EXISTS {name} {self.on_cluster} AS {local}\n"
                             f"ENGINE = Distributed('{self.cluster}', '{self.database}', '{local}', {placement.sharding_key})",
                             source, "distributed table", name),
        ]

    @staticmethod
    def engine(engine: str, path: str, replica: str, args: str) -> str:
        return f"Replicated{engine}('{path}', '{replica}'" + (f", {args}" if args else "") + ")"

    # -- views
    def create_view(self, source: str, stmt: str, m: str) -> list[ClusterStatement]:
        head = re.match(r"CREATE\s+(?:VIEW\s+IF\s+NOT\s+EXISTS|(OR\s+REPLACE)\s+VIEW)\s+(\w+)\s+AS\b", m, re.I)
        if not head:
            raise self.fail(source, stmt, "expected CREATE VIEW IF NOT EXISTS <name> AS SELECT … "
                                          "(or CREATE OR REPLACE VIEW <name> AS SELECT … for a new version of a view)")
        replace, name = bool(head.group(1)), head.group(2)
        tree = self.ast(source, stmt)
        if (tree.root.split()[:2] != ["CreateQuery", name] or not tree.nodes("SelectWithUnionQuery", 1)
                or tree.nodes("ViewTargets") or tree.nodes("Storage definition") or tree.nodes("Columns definition")):
            raise self.fail(source, stmt, f"chDB reads it differently (as {tree.root!r})")
        self.known(source, stmt, tree.tables(), tree)
        if name in self.objects and not (replace and self.objects[name] == "view"):
            raise self.fail(source, stmt, f"{name} is created twice" if not replace else f"{name} is a {self.objects[name]}, not a view")
        self.objects[name] = "view"
        at = head.start(2) + len(name)
        return [ClusterStatement(f"{stmt[:at]} {self.on_cluster}{stmt[at:]}", source, "view", name)]

    def create_materialized_view(self, source: str, stmt: str, m: str) -> list[ClusterStatement]:
        head = re.match(r"CREATE\s+MATERIALIZED\s+VIEW\s+IF\s+NOT\s+EXISTS\s+(\w+)\s+TO\s+(\w+)\s+AS\b", m, re.I)
        if not head:
            raise self.fail(source, stmt, "expected CREATE MATERIALIZED VIEW IF NOT EXISTS <name> TO <table> AS SELECT … "
                                          "(a view with its own ENGINE or POPULATE cannot be placed on a cluster)")
        name, target = head.group(1), head.group(2)
        tree = self.ast(source, stmt)
        if (tree.root.split()[:2] != ["CreateQuery", name] or not tree.nodes("ViewTargets")
                or tree.nodes("Storage definition") or tree.nodes("Columns definition")):
            raise self.fail(source, stmt, f"chDB reads it differently (as {tree.root!r})")
        sources = tree.tables()
        if len(sources) != 1 or re.search(r"\bJOIN\b", re.sub(r"\bARRAY\s+JOIN\b", "", m[head.end():], flags=re.I), re.I):
            raise self.fail(source, stmt, f"a materialised view must read exactly one table and join nothing (reads {sources}): "
                                          "on a cluster it fires on the shard-local insert only")
        src = sources[0]
        self.known(source, stmt, [src, target], tree)
        kinds = (self.objects[src], self.objects[target])
        if kinds not in (("sharded", "sharded"), ("replicated", "replicated")):
            raise self.fail(source, stmt, f"source {src} is {kinds[0]} and target {target} is {kinds[1]}: a view fires on "
                                          "the node that receives the insert, so both must be sharded or both replicated")
        if kinds[0] == "sharded" and LAYOUT[src].sharding_key != LAYOUT[target].sharding_key:
            raise self.fail(source, stmt, f"{target} must shard as {src} ({LAYOUT[src].sharding_key}): the view writes on "
                                          "the source's shard, a back-fill through the Distributed table by the target's key")
        if name in self.objects:
            raise self.fail(source, stmt, f"{name} is created twice")
        self.objects[name] = "materialized view"
        if kinds[0] == "replicated":
            at = head.start(1) + len(name)
            return [ClusterStatement(f"{stmt[:at]} {self.on_cluster}{stmt[at:]}", source, "materialized view", name)]
        body_at = head.end()
        refs = list(re.finditer(rf"\bFROM\s+{src}\b", m[body_at:], re.I))
        if len(refs) != 1:
            raise self.fail(source, stmt, f"cannot find the one FROM {src} chDB sees")
        end = body_at + refs[0].end()
        sql = (f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name} {self.on_cluster} TO {target}_local AS"
               f"{stmt[body_at:end]}_local{stmt[end:]}")
        return [ClusterStatement(sql, source, "materialized view", name,
                                 f"{name}: fires on inserts into {src}_local (each shard's own rows), writes {target}_local")]

    # -- ALTER
    def alter(self, source: str, stmt: str, m: str) -> list[ClusterStatement]:
        head = re.match(r"ALTER\s+TABLE\s+(\w+)\s+", m, re.I)
        if not head:
            raise self.fail(source, stmt, "expected ALTER TABLE <name> <command>")
        name, command = head.group(1), stmt[head.end():]
        tree = self.ast(source, stmt)
        root = re.match(r"AlterQuery (\S*) (\S+)", tree.root)
        if not root or root.group(1) or root.group(2) != name:
            raise self.fail(source, stmt, f"chDB reads it differently (as {tree.root!r})")
        commands = {t.split()[1] for t in tree.nodes("AlterCommand ")}
        self.known(source, stmt, [name])
        if self.objects[name] not in ("sharded", "replicated"):
            raise self.fail(source, stmt, f"{name} is a {self.objects[name]}, not a table")
        if not commands:
            raise self.fail(source, stmt, "chDB finds no ALTER command in it")
        if commands <= _COLUMN_COMMANDS:
            both = True
            self.altered.add(name)
        elif commands <= _STORAGE_COMMANDS:
            both = False
        else:
            raise self.fail(source, stmt, f"ALTER commands {sorted(commands)}: only column changes "
                                          f"({', '.join(sorted(_COLUMN_COMMANDS))}) or storage changes "
                                          f"({', '.join(sorted(_STORAGE_COMMANDS))}), one kind per statement")
        mc = mask(command)
        for verb, guard, words in (("ADD", r"IF\s+NOT\s+EXISTS", "IF NOT EXISTS"), ("DROP", r"IF\s+EXISTS", "IF EXISTS")):
            for hit in re.finditer(rf"\b{verb}\s+(COLUMN|INDEX|PROJECTION)\b(\s+{guard})?", mc, re.I):
                if not hit.group(2):
                    raise self.fail(source, stmt, f"{verb} {hit.group(1)} without {words}: ON CLUSTER may run it more "
                                                  "than once on one replicated table, so it must be idempotent")
        if self.objects[name] == "replicated":
            return [ClusterStatement(f"ALTER TABLE {name} {self.on_cluster} {command}", source, "alter", name)]
        out = [ClusterStatement(f"ALTER TABLE {name}_local {self.on_cluster} {command}", source, "alter", f"{name}_local")]
        if both:
            out.append(ClusterStatement(f"ALTER TABLE {name} {self.on_cluster} {command}", source, "alter", name))
        return out

    # -- INSERT
    def insert(self, source: str, stmt: str, m: str) -> list[ClusterStatement]:
        head = re.match(r"INSERT\s+INTO\s+(\w+)\s*(\([^()]*\)\s*)?(SELECT|WITH|VALUES)\b", m, re.I)
        if not head:
            raise self.fail(source, stmt, "expected INSERT INTO <table> [(<columns>)] SELECT|WITH|VALUES …")
        name = head.group(1)
        tree = self.ast(source, stmt)
        first_child = tree.lines[1][1] if len(tree.lines) > 1 else ""
        if not tree.root.startswith("InsertQuery") or first_child != f"Identifier {name}":
            raise self.fail(source, stmt, f"chDB reads it differently (as {tree.root!r} {first_child!r})")
        self.known(source, stmt, [name] + tree.tables(), tree)
        if self.objects[name] not in ("sharded", "replicated"):
            raise self.fail(source, stmt, f"{name} is a {self.objects[name]}, not a table")
        return [ClusterStatement(stmt, source, "insert", name,
                                 f"runs once, on the node this file is applied to; {name} "
                                 + ("routes the rows to their shards" if self.objects[name] == "sharded" else "replicates them"))]

    # -- table rebuilds: EXCHANGE TABLES, DROP TABLE
    def exchange(self, source: str, stmt: str, m: str) -> list[ClusterStatement]:
        head = re.fullmatch(r"EXCHANGE\s+TABLES\s+(\w+)\s+AND\s+(\w+)\s*", m, re.I)
        if not head:
            raise self.fail(source, stmt, "expected EXCHANGE TABLES <table> AND <table>")
        a, b = head.group(1), head.group(2)
        tree = self.ast(source, stmt)
        if not tree.root.startswith("Rename") or tree.identifiers() != [a, b]:
            raise self.fail(source, stmt, f"chDB reads it differently (as {tree.root!r})")
        self.known(source, stmt, [a, b])
        kinds = (self.objects[a], self.objects[b])
        if kinds not in (("sharded", "sharded"), ("replicated", "replicated")):
            raise self.fail(source, stmt, f"{a} is {kinds[0]} and {b} is {kinds[1]}: only two tables placed alike can swap")
        if LAYOUT[a].sharding_key != LAYOUT[b].sharding_key:
            raise self.fail(source, stmt, f"{a} and {b} shard by different keys: their rows would sit on the wrong shards")
        if {a, b} & self.altered:
            raise self.fail(source, stmt, f"{sorted({a, b} & self.altered)} had columns changed by ALTER: the rewriter "
                                          "cannot tell whether both tables still have the same columns")
        if self.columns.get(a) != self.columns.get(b):
            raise self.fail(source, stmt, f"{a} and {b} have different columns: a Distributed table keeps the columns "
                                          "of its local table as created")
        if kinds[0] == "replicated":
            return [ClusterStatement(f"EXCHANGE TABLES {a} AND {b} {self.on_cluster}", source, "exchange", a,
                                     f"swaps {a} and {b} on every node (Atomic databases); the Keeper paths stay "
                                     "with the data")]
        return [ClusterStatement(f"EXCHANGE TABLES {a}_local AND {b}_local {self.on_cluster}", source, "exchange",
                                 f"{a}_local", f"swaps the shards' local tables; the Distributed tables {a} and {b} "
                                 "keep reading <name>_local, now the other data")]

    def drop(self, source: str, stmt: str, m: str) -> list[ClusterStatement]:
        head = re.fullmatch(r"DROP\s+TABLE\s+IF\s+EXISTS\s+(\w+)\s*", m, re.I)
        if not head:
            raise self.fail(source, stmt, "expected DROP TABLE IF EXISTS <table> (idempotent, no SYNC: added here)")
        name = head.group(1)
        tree = self.ast(source, stmt)
        if tree.root.split()[:2] != ["DropQuery", name]:
            raise self.fail(source, stmt, f"chDB reads it differently (as {tree.root!r})")
        self.known(source, stmt, [name])
        kind = self.objects.pop(name)
        self.columns.pop(name, None)
        self.altered.discard(name)
        if kind == "replicated":
            return [ClusterStatement(f"DROP TABLE IF EXISTS {name} {self.on_cluster} SYNC", source, "drop", name,
                                     f"{name} on every node; SYNC frees its Keeper path before the next statement")]
        if kind == "sharded":
            return [ClusterStatement(f"DROP TABLE IF EXISTS {name} {self.on_cluster} SYNC", source, "drop", name),
                    ClusterStatement(f"DROP TABLE IF EXISTS {name}_local {self.on_cluster} SYNC", source, "drop",
                                     f"{name}_local", "the Distributed table first, then the shards' data")]
        raise self.fail(source, stmt, f"{name} is a {kind}: only tables are dropped by a migration")


def ledger_row(mig: Migration) -> ClusterStatement:
    sql = (f"INSERT INTO {LEDGER} (version, name, checksum, applied_at)\n"
           f"SELECT {mig.version}, '{mig.name}', '{mig.checksum}', now64(3, 'UTC')")
    return ClusterStatement(sql, mig.path.name, "ledger row", LEDGER,
                            f"{mig.path.name} applied: `tsur migrate` and the worker's schema check see it")


def render(cluster: str = DEFAULT_CLUSTER, database: str = DEFAULT_DATABASE, after: int = 0,
           directory: Path = MIGRATIONS_DIR, explain: Callable[[str], str] = chdb_explain) -> list[ClusterStatement]:
    """The cluster DDL of the ledger and of every migration (those numbered above ``after`` emitted;
    the earlier ones are still read, so the rewriter knows their tables)."""
    r = _Renderer(cluster, database, explain)
    out = r.statement("ledger", LEDGER_DDL.strip())
    for mig in discover(directory):
        rendered = [s for stmt in split_statements(mig.sql) for s in r.statement(mig.path.name, stmt)]
        if mig.version > after:
            out += rendered + [ledger_row(mig)]
    return out


def render_sql(cluster: str = DEFAULT_CLUSTER, database: str = DEFAULT_DATABASE, after: int = 0,
               directory: Path = MIGRATIONS_DIR, explain: Callable[[str], str] = chdb_explain) -> str:
    """``render`` as one file for ``clickhouse-client --multiquery``: same migrations, same text."""
    return to_sql(render(cluster, database, after, directory, explain), cluster, database, after)


def to_sql(statements: list[ClusterStatement], cluster: str, database: str, after: int = 0) -> str:
    needs = ("the macros {shard} and {replica}" + (" and {cluster}" if cluster == DEFAULT_CLUSTER else "")
             + " on every node, Keeper, internal_replication = true in the cluster's remote_servers, and "
             "distributed_product_mode = 'global' in the profile of every user (views and reports join "
             "Distributed tables). docs/cluster.md explains the layout.")
    lines = [
        "-- The tsur schema for a ClickHouse cluster, generated by `tsur cluster-ddl` from sql/migrations",
        f"-- (cluster {cluster}, database {database}, migrations "
        + (f"numbered above {after}" if after else "all") + "). Do not edit: regenerate. Apply on one node:",
        f"--     clickhouse-client --host NODE --database {database} --multiquery < cluster.sql",
        *textwrap.wrap("Needs " + needs, 100, initial_indent="-- ", subsequent_indent="-- "),
        "",
    ]
    source = None
    for s in statements:
        if s.source != source:
            source = s.source
            lines.append(f"-- ===== {source}")
        if s.note:
            lines += textwrap.wrap(s.note, 100, initial_indent="-- ", subsequent_indent="--   ")
        lines += [s.sql + ";", ""]
    return "\n".join(lines)
