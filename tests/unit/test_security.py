"""Security checks over the repository (issue 7, item 3; docs/security.md).

(a) No secrets in the files git tracks: private keys, cloud/service tokens, passwords or keys
    assigned literal values (placeholders, test keys and ${VAR} references are fine).
(b) No SQL built from strings: every call that runs SQL gets a constant, a named query
    (sql/queries/*.sql) or a listed exception; named queries get every parameter they use.
(c) The authors' pseudonymisation key comes from the environment and rotating it changes the
    keyed hash.
"""
from __future__ import annotations

import ast
import fnmatch
import functools
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# ====================================================================== (a) secrets scan
MAX_SCAN_BYTES = 5_000_000

# Patterns that are a secret wherever they appear (the value itself is recognisable).
TOKEN_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_?secret_?access_?key\W{0,4}[A-Za-z0-9/+=]{40}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "Telegram bot token": re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_\-]{33}\b"),
    "VK access token": re.compile(r"\bvk1\.a\.[A-Za-z0-9_\-]{40,}"),
}
# Names that say "this holds a secret".
SECRET_NAME = re.compile(
    r"(?i)(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|fernet[_-]?key|pseudonym[_-]?key|auth[_-]?key)")
# key = value / key: value / "key": "value" in config-like text (YAML, TOML, .env, JSON, INI, docs).
ASSIGNMENT = re.compile(r"""(?P<key>[A-Za-z0-9_.\-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"""
                        r"""fernet[_-]?key|pseudonym[_-]?key|auth[_-]?key)[A-Za-z0-9_.\-]*)["']?\s*[:=]\s*"""
                        r"""(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"'#,;}\]]+)""", re.I)
XML_ELEMENT = re.compile(r"<(?P<key>[\w:-]*(?:password|secret|token|key)[\w:-]*)(?:\s[^>]*)?>(?P<value>[^<]+)</", re.I)
URL_CREDENTIAL = re.compile(r"\b[a-z][a-z0-9+.\-]*://(?P<user>[^\s:/@'\"]+):(?P<value>[^\s@/'\"]+)@(?P<host>[^\s/'\"]+)", re.I)
# A value is not a secret when it is a reference, a placeholder or a test key.
PLACEHOLDER = re.compile(r"(?i)test|example|changeme|change[_-]me|dummy|fake|placeholder|sample|redacted|your[_-]|xxx|\*\*\*|<[^>]*>|\.\.\."
                         r"|not[_-]a[_-]|invalid|wrong")
MIN_SECRET_CHARS = 8    # shorter literals ('pw', 'short' in config tests) are not credentials anyone could use

# Explicit exceptions: (path glob, key regex, reason). Keep this list short.
ALLOWLIST = [
    ("tests/fixtures/intake/*.json", r"access_key",
     "VK API responses keep a public per-attachment 'access_key' (not a credential); the fixture's values are made up"),
    ("bench/*.py", r"TSUR_PSEUDONYM_KEY",
     "benchmarks' throwaway keys ('bench-key-…') for their own temporary data dirs; they protect no real data"),
]


def _not_a_secret(value: str) -> bool:
    """References, placeholders, short values and prose (a value with spaces is a description)."""
    v = value.strip().strip("\"'").strip()
    return (len(v) < MIN_SECRET_CHARS or any(c.isspace() for c in v) or v.startswith(("$", "%(", "{{", "os.environ", "env.get", "getenv"))
            or "${" in v or bool(PLACEHOLDER.search(v)) or v.lower() in ("none", "null", "true", "false"))


def _allowed(path: str, key: str) -> bool:
    return any(fnmatch.fnmatch(path, glob) and re.search(rx, key, re.I) for glob, rx, _ in ALLOWLIST)


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def _text_of(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_SCAN_BYTES:
            return None
        data = path.read_bytes()
    except OSError:             # listed but deleted in the working tree
        return None
    if b"\0" in data[:8192]:    # binary (the pickled model, images)
        return None
    return data.decode("utf-8", "replace")


def _python_literals(tree: ast.AST):
    """(line, name, value) of string literals given to secret-looking names in Python code:
    assignments, annotated assignments, os.environ[...] = ..., keyword arguments, dict entries and defaults."""
    def const(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            v = node.value
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        return None

    def name_of(target):
        if isinstance(target, ast.Name):
            return target.id
        if isinstance(target, ast.Attribute):
            return target.attr
        if isinstance(target, ast.Subscript):
            return const(target.slice)
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                yield node.lineno, name_of(t), const(node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            yield node.lineno, name_of(node.target), const(node.value)
        elif isinstance(node, ast.keyword) and node.arg:
            yield node.value.lineno, node.arg, const(node.value)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if k is not None:
                    yield v.lineno, const(k), const(v)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.posonlyargs + node.args.args
            for a, d in zip(args[len(args) - len(node.args.defaults):], node.args.defaults):
                yield d.lineno, a.arg, const(d)
            for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults):
                if d is not None:
                    yield d.lineno, a.arg, const(d)


def scan_text(path: str, text: str) -> list[str]:
    """Findings for one file: 'path:line: what'."""
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for what, rx in TOKEN_PATTERNS.items():
            m = rx.search(line)
            if m and not PLACEHOLDER.search(m.group(0)):
                found.append(f"{path}:{lineno}: {what}")
        for m in URL_CREDENTIAL.finditer(line):
            if not _not_a_secret(m.group("value")) and not PLACEHOLDER.search(m.group("host")) and not _allowed(path, "url"):
                found.append(f"{path}:{lineno}: password inside a URL")
    if path.endswith(".py"):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return found + [f"{path}: not valid Python, cannot be checked"]
        for lineno, name, value in _python_literals(tree):
            if name and value is not None and SECRET_NAME.search(name) and not _not_a_secret(value) and not _allowed(path, name):
                found.append(f"{path}:{lineno}: {name} is assigned a literal secret")
        return found
    for lineno, line in enumerate(text.splitlines(), 1):
        for rx in (ASSIGNMENT, XML_ELEMENT):
            for m in rx.finditer(line):
                if not _not_a_secret(m.group("value")) and not _allowed(path, m.group("key")):
                    found.append(f"{path}:{lineno}: {m.group('key')} is assigned a literal secret")
    return found


def test_no_secrets_in_tracked_files():
    files = tracked_files()
    assert len(files) > 50                                   # the listing worked
    findings = []
    for rel in files:
        text = _text_of(ROOT / rel)
        if text is not None:
            findings += scan_text(rel, text)
    assert not findings, "secrets in the repository (move them to the environment):\n" + "\n".join(findings)


def test_allowlist_entries_still_match_files():
    """A stale exception hides nothing today but would hide something tomorrow: remove it."""
    files = tracked_files()
    for glob, _, reason in ALLOWLIST:
        assert reason and any(fnmatch.fnmatch(f, glob) for f in files), f"allowlist entry {glob!r} matches no tracked file"


# The scanner itself: it must see what it is meant to see (values built at run time, so this
# file holds none of them literally).
@pytest.mark.parametrize("path, text", [
    ("deploy/key.pem", "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow"),
    ("deploy/id", "-----BEGIN " + "OPENSSH PRIVATE KEY-----"),
    ("settings.toml", "aws_key = '" + "AKIA" + "Q3EGRIMZ5ZKT7H4B" + "'"),
    ("settings.py", "CLICKHOUSE_PASSWORD = '" + "s3cr3t-Pa55w0rd" + "'"),
    ("tsur/x.py", "def connect(password='" + "hunter22hunter" + "'):\n    pass"),
    ("tsur/y.py", "import os\nos.environ['TSUR_PSEUDONYM_KEY'] = '" + "9f8e7d6c5b4a39281706" + "'"),
    ("tsur/z.py", "client(dsn='http://tsur:" + "Qw3rty-Uiop" + "@ch.prod.local:8123/default')"),
    (".env", "CLICKHOUSE_PASSWORD=" + "Qw3rty-Uiop-123"),
    ("docker-compose.yml", "      GF_SECURITY_ADMIN_PASSWORD: " + "Adm1n-Adm1n"),
    ("users.xml", "<password>" + "Qw3rty-Uiop-123" + "</password>"),
    ("bot.py", "BOT = '" + "1234567890:AA" + "H" * 33 + "'"),
])
def test_the_scanner_finds_planted_secrets(path, text):
    assert scan_text(path, text), text


@pytest.mark.parametrize("path, text", [
    ("docker-compose.yml", "  TSUR_PSEUDONYM_KEY: ${TSUR_PSEUDONYM_KEY:?set TSUR_PSEUDONYM_KEY}"),
    ("deploy/ds.yml", "      password: $CLICKHOUSE_PASSWORD"),
    ("users.xml", '<password from_env="CLICKHOUSE_READER_PASSWORD"/>'),
    ("tests/conftest.py", "env = {'TSUR_PSEUDONYM_KEY': 'test-key-0123456789abcdef'}"),
    ("docs/x.md", "TSUR_PSEUDONYM_KEY=$(openssl rand -hex 32)"),
    ("tsur/a.py", "def send(user=None, password: str | None = None):\n    pass"),
    ("tsur/b.py", "password = os.environ['SMTP_PASSWORD']"),
    ("tsur/c.py", "token = secrets.token_hex(16)"),
    ("README.md", "| `TSUR_PSEUDONYM_KEY` | random key in the data dir | secret for the authors' keyed hash |"),
    ("x.yml", "api_key: changeme-changeme"),
    ("tests/t.py", "dsn = 'https://reader:pw@ch.example:8443/tsur'"),
])
def test_the_scanner_leaves_references_and_placeholders(path, text):
    assert scan_text(path, text) == []


# ====================================================================== (b) SQL only with parameters
PACKAGES = ("tsur", "intake", "nlp", "geo", "enrichment", "routing", "warehouse", "streams", "reports", "dags", "api")
SQL_METHODS = {"query", "query_df", "query_np", "query_arrow", "query_rows", "query_row_block_stream", "query_df_stream",
               "raw_query", "raw_stream", "command", "execute", "executemany", "insert", "insert_df", "insert_arrow", "raw_insert"}
SQL_KEYWORDS = ("query", "sql", "cmd", "statement", "table")
QUERIES_DIR = ROOT / "sql" / "queries"
PLACEHOLDER_RE = re.compile(r"\{(\w+):([^{}]+)\}")

# Interpolations into SQL that are allowed: identifiers from fixed code constants, never user text.
# (path, function, source of the interpolated expression) → reason.
SQL_INTERPOLATION_ALLOWED = {
    ("reports/artifacts.py", "replace_region_day", "table"):
        "a daily table's name; every caller passes a literal table name (test_replace_region_day_gets_literal_tables)",
    ("warehouse/retention.py", "apply", "table"):
        "a table name from retention.RULES, a code constant (test_retention_rules_name_real_tables), or on a "
        "cluster its local table as the server's system.tables names it (retention.storage)",
    ("warehouse/retention.py", "apply", "on_cluster"):
        "'' or ON CLUSTER with the cluster named in the server's own system.tables (retention.storage)",
    ("warehouse/cluster_ddl.py", "chdb_explain", "sql"):
        "a statement of sql/migrations (code) given to EXPLAIN AST: parsed by chDB, never executed",
    ("warehouse/retention.py", "apply", "want"):
        "ttl_clause(rule, days): a column from retention.RULES and an integer day count validated by tsur.config",
}


@functools.lru_cache(maxsize=1)
def package_files() -> dict[str, ast.Module]:
    trees = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).is_dir() else ():
            rel = path.relative_to(ROOT).as_posix()
            trees[rel] = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    return trees


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


@functools.lru_cache(maxsize=None)
def _enclosing(tree: ast.Module) -> dict[ast.AST, ast.AST]:
    """node → the innermost function around it (or the module)."""
    owner = {}

    def visit(node, fn):
        for child in ast.iter_child_nodes(node):
            owner[child] = fn
            visit(child, child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn)
    visit(tree, tree)
    return owner


def _params(fn) -> list[str]:
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    a = fn.args
    return [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]


def _assigned(fn, name: str) -> list[ast.AST]:
    """Values assigned to ``name`` directly inside ``fn`` (not in nested functions)."""
    out = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            out.append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name and node.value:
            out.append(node.value)
    return out


def _sql_argument(call: ast.Call) -> ast.AST | None:
    if call.args:
        return call.args[0]
    for kw in call.keywords:
        if kw.arg in SQL_KEYWORDS:
            return kw.value
    return None


def _is_sql_call(call: ast.Call) -> bool:
    f = call.func
    return isinstance(f, ast.Attribute) and f.attr in SQL_METHODS and _sql_argument(call) is not None


def _interpolations(expr: ast.AST, fn, depth: int = 0) -> list[ast.AST]:
    """The non-constant pieces string formatting puts into ``expr`` (following local names)."""
    if depth > 3:
        return []
    if isinstance(expr, ast.JoinedStr):
        return [v.value for v in expr.values if isinstance(v, ast.FormattedValue)]
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod) and isinstance(expr.left, (ast.Constant, ast.JoinedStr)):
        return [expr.right]
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        leaves, stack = [], [expr]
        while stack:
            n = stack.pop()
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
                stack += [n.left, n.right]
            else:
                leaves.append(n)
        out = []
        for leaf in leaves:
            if not (isinstance(leaf, ast.Constant) and isinstance(leaf.value, str)):
                out += _interpolations(leaf, fn, depth + 1) if isinstance(leaf, (ast.JoinedStr, ast.BinOp)) else [leaf]
        return out
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("format", "join", "format_map"):
        return [*expr.args, *(k.value for k in expr.keywords)] or [expr]
    if isinstance(expr, ast.IfExp):
        return _interpolations(expr.body, fn, depth + 1) + _interpolations(expr.orelse, fn, depth + 1)
    if isinstance(expr, ast.Name):
        return [x for v in _assigned(fn, expr.id) for x in _interpolations(v, fn, depth + 1)]
    return []


def test_sql_is_never_built_from_strings():
    """Every SQL call gets a constant, a named query or a name holding one; values go in
    ``parameters=``. String formatting is allowed only for the listed identifiers."""
    problems, used = [], set()
    for rel, tree in package_files().items():
        owner = _enclosing(tree)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_sql_call(n)):
            fn = owner.get(call, tree)
            fn_name = getattr(fn, "name", "<module>")
            for piece in _interpolations(_sql_argument(call), fn):
                source = ast.unparse(piece)
                key = (rel, fn_name, source)
                if key in SQL_INTERPOLATION_ALLOWED:
                    used.add(key)
                else:
                    problems.append(f"{rel}:{call.lineno} in {fn_name}(): SQL built with {source!r}; "
                                    "pass values as parameters={{...}} ({{name:Type}} in the SQL)")
    assert not problems, "\n".join(problems)
    assert used == set(SQL_INTERPOLATION_ALLOWED), f"stale exceptions: {set(SQL_INTERPOLATION_ALLOWED) - used}"


@pytest.mark.parametrize("source", [
    'client.query(f"SELECT * FROM posts_raw WHERE region = \'{region}\'")',
    'client.command("DELETE FROM incidents WHERE incident_id = \'%s\'" % incident_id)',
    'client.query("SELECT * FROM t WHERE x = {}".format(x))',
    'client.query("SELECT * FROM t WHERE x = \'" + x + "\'")',
    'sql = f"SELECT {col} FROM t"\nclient.query_df(sql)',
    'client.execute(sql="SELECT " + ", ".join(cols))',
])
def test_the_sql_guard_catches_string_building(source):
    tree = ast.parse(f"def f(client, region, incident_id, x, col, cols):\n" + "\n".join("    " + l for l in source.splitlines()))
    fn = tree.body[0]
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_sql_call(n)]
    assert calls and any(_interpolations(_sql_argument(c), fn) for c in calls)


@pytest.mark.parametrize("source", [
    'client.query("SELECT * FROM posts_raw WHERE region = {r:String}", parameters={"r": region})',
    'client.query(named_query("stream_known_posts"), parameters={"ids": ids})',
    'client.insert("posts_raw", rows, column_names=cols)',
    'tree.query([1.0, 2.0, 3.0])',
])
def test_the_sql_guard_passes_parameterised_sql(source):
    tree = ast.parse(f"def f(client, region, ids, rows, cols, tree):\n    {source}")
    fn = tree.body[0]
    assert not any(_interpolations(_sql_argument(c), fn) for c in ast.walk(tree) if isinstance(c, ast.Call) and _is_sql_call(c))


def _calls_to(trees: dict[str, ast.Module], name: str, defined_in: str):
    """Calls of the function ``name`` defined in the file ``defined_in``: from that file and from
    files that import the name from its module."""
    module = defined_in[:-3].replace("/", ".")
    for rel, tree in trees.items():
        if rel != defined_in and not any(isinstance(n, ast.ImportFrom) and n.module == module and any(a.name == name for a in n.names)
                                          for n in ast.walk(tree)):
            continue
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and ((isinstance(n.func, ast.Name) and n.func.id == name)
                                            or (isinstance(n.func, ast.Attribute) and n.func.attr == name)):
                yield rel, n


def _argument(call: ast.Call, fn, param: str) -> ast.AST | None:
    names = _params(fn)
    if param in names:
        i = names.index(param)
        if i < len(call.args):
            return call.args[i]
    return next((k.value for k in call.keywords if k.arg == param), None)


def _migration_tables() -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "sql" / "migrations").glob("*.sql")))
    return set(re.findall(r"(?i)CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", text))


def test_replace_region_day_gets_literal_tables():
    trees = package_files()
    (fn,) = [f for f in _functions(trees["reports/artifacts.py"]) if f.name == "replace_region_day"]
    tables = _migration_tables()
    calls = list(_calls_to(trees, "replace_region_day", "reports/artifacts.py"))
    assert calls
    for rel, call in calls:
        table = _argument(call, fn, "table")
        assert isinstance(table, ast.Constant) and table.value in tables, f"{rel}:{call.lineno}: table must be a literal table name"


def test_retention_rules_name_real_tables():
    from warehouse.retention import RULES

    assert {r.table for r in RULES} <= _migration_tables()
    assert all(re.fullmatch(r"[a-z_]+", r.table) and re.fullmatch(r"[a-z_]+", r.column) for r in RULES)


def _dict_keys(expr: ast.AST | None, fn, depth: int = 0) -> set[str] | None:
    """Constant keys of a parameters dict (a literal, a local name holding one, ``{**d, ...}``);
    None when they cannot be known statically."""
    if expr is None:
        return set()
    if depth > 3:
        return None
    if isinstance(expr, ast.Dict):
        keys = set()
        for k, v in zip(expr.keys, expr.values):
            if k is None:                                   # {**other}
                inner = _dict_keys(v, fn, depth + 1)
                if inner is None:
                    return None
                keys |= inner
            elif isinstance(k, ast.Constant) and isinstance(k.value, str):
                keys.add(k.value)
            else:
                return None
        return keys
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict" and not expr.args:
        return {k.arg for k in expr.keywords if k.arg}
    if isinstance(expr, ast.Name):
        values = _assigned(fn, expr.id)
        if len(values) == 1:
            return _dict_keys(values[0], fn, depth + 1)
    return None


def _named_query_uses(trees):
    """(where, query name, parameter names passed) for every SQL call that runs a named query,
    following a query name or **params handed in by the callers of the function."""
    for rel, tree in trees.items():
        owner = _enclosing(tree)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_sql_call(n)):
            sql = _sql_argument(call)
            if not (isinstance(sql, ast.Call) and isinstance(sql.func, ast.Name) and sql.func.id == "named_query"):
                continue
            fn = owner.get(call, tree)
            where = f"{rel}:{call.lineno}"
            (name_arg,) = sql.args
            params = next((k.value for k in call.keywords if k.arg == "parameters"), None)
            kwargs_param = getattr(getattr(fn, "args", None), "kwarg", None)
            from_callers = isinstance(params, ast.Name) and kwargs_param is not None and params.id == kwargs_param.arg
            if isinstance(name_arg, ast.Constant) and not from_callers:
                yield where, name_arg.value, _dict_keys(params, fn)
                continue
            # the name (or the parameters) come from the function's callers: each call must give literals
            assert isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)), where
            callers = list(_calls_to(trees, fn.name, rel))
            assert callers, f"{where}: nobody calls {fn.name}()"
            for crel, c in callers:
                name = name_arg if isinstance(name_arg, ast.Constant) else _argument(c, fn, name_arg.id)
                assert isinstance(name, ast.Constant) and isinstance(name.value, str), \
                    f"{crel}:{c.lineno}: {fn.name}() must get a literal query name"
                keys = {k.arg for k in c.keywords if k.arg and k.arg not in _params(fn)} if from_callers else _dict_keys(params, fn)
                yield f"{crel}:{c.lineno}", name.value, keys


def test_named_queries_get_every_parameter_they_use():
    uses = list(_named_query_uses(package_files()))
    assert len(uses) >= 10
    problems = []
    for where, name, keys in uses:
        path = QUERIES_DIR / f"{name}.sql"
        if not path.exists():
            problems.append(f"{where}: no named query {name!r}")
            continue
        wanted = set(PLACEHOLDER_RE.findall(path.read_text(encoding="utf-8")))
        wanted = {p for p, _ in wanted}
        if keys is None:
            problems.append(f"{where}: the parameters of {name!r} cannot be checked (pass a dict literal)")
        elif wanted - keys:
            problems.append(f"{where}: {name}.sql uses {sorted(wanted - keys)} but they are not passed")
    assert not problems, "\n".join(problems)


def test_named_query_files_use_typed_placeholders_only():
    """{name:Type} is a server-side parameter; '{name}', '%s' or '%(name)s' would be filled in by Python."""
    for path in sorted(QUERIES_DIR.glob("*.sql")):
        text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
        text = re.sub(r"'(?:[^']|'')*'", "''", text)          # string literals may hold braces
        bare = re.findall(r"\{[^{}]*\}", PLACEHOLDER_RE.sub("", text))
        assert not bare, f"{path.name}: untyped placeholders {bare}"
        assert not re.search(r"%\(?\w*\)?s", text), f"{path.name}: Python %-format placeholder"


# ====================================================================== (c) pseudonymisation key
POST = {"source": "vk", "id": "-1_42", "text": "Нет воды, звоните +7 (918) 123-45-67", "created_at": "2026-11-20T10:00:00Z",
        "author_id": "id777"}
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def test_key_comes_from_the_environment(tmp_path):
    from tsur.config import Settings

    s = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path), "TSUR_PSEUDONYM_KEY": "test-key-from-the-environment"})
    assert s.pseudonym_key == b"test-key-from-the-environment"
    assert "from-the-environment" not in repr(s)                     # never printed with the settings
    assert not (tmp_path / "secrets").exists()                       # nothing written when the env sets it


def test_short_key_is_refused_with_the_fix(tmp_path):
    from tsur.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="TSUR_PSEUDONYM_KEY.*openssl rand"):
        Settings.from_env({"TSUR_DATA_DIR": str(tmp_path), "TSUR_PSEUDONYM_KEY": "changeme"})


def test_missing_key_becomes_a_private_random_key_in_the_data_dir(tmp_path):
    """Today's behaviour without TSUR_PSEUDONYM_KEY: a random 256-bit key is created once in
    <data dir>/secrets/pseudonym.key (mode 0600) and reused; no key is built into the code, so two
    installations never share one."""
    from tsur.config import Settings

    a = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path / "one")})
    again = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path / "one")})
    other = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path / "two")})
    key_file = tmp_path / "one" / "secrets" / "pseudonym.key"
    assert a.pseudonym_key == again.pseudonym_key == key_file.read_bytes().strip()
    assert re.fullmatch(rb"[0-9a-f]{64}", a.pseudonym_key)
    assert key_file.stat().st_mode & 0o077 == 0
    assert other.pseudonym_key != a.pseudonym_key


def test_rotating_the_key_changes_author_hashes_but_not_post_ids(tmp_path):
    from intake.raw_post import parse_raw_post
    from tsur.config import Settings

    old = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path), "TSUR_PSEUDONYM_KEY": "old-test-key-0123456789"})
    new = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path), "TSUR_PSEUDONYM_KEY": "new-test-key-0123456789"})
    before = parse_raw_post(POST, old.pseudonym_key, now=NOW)
    same = parse_raw_post(POST, old.pseudonym_key, now=NOW)
    after = parse_raw_post(POST, new.pseudonym_key, now=NOW)
    assert before.author_hash == same.author_hash                    # stable while the key stays
    assert before.author_hash != after.author_hash                   # unlinkable after rotation
    assert re.fullmatch(r"[0-9a-f]{20}", after.author_hash) and "777" not in after.author_hash
    assert before.post_id == after.post_id                           # deduplication survives a rotation
    assert before.text == after.text and "918" not in after.text     # masking does not depend on the key
