"""One env-driven settings object for every component (worker, CLI, DAGs, reports).

Every knob is an environment variable ``TSUR_*``; ``Settings.from_env()`` reads them once and
validates them, raising :class:`ConfigError` with a one-line message that names the variable
and the fix. Nothing here imports another tsur module.
"""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[1]

TOPIC_NAMES = {
    "posts_raw": "posts.raw",
    "incidents_enriched": "incidents.enriched",
    "incidents_status": "incidents.status",
    "alerts": "alerts",
    "posts_dlq": "posts.dlq",
}


class ConfigError(Exception):
    """A bad setting: the message is one line naming the variable and the fix."""


def _int(env: dict, name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; set it to an integer in {lo}..{hi}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range; set it to an integer in {lo}..{hi}")
    return value


def _float(env: dict, name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to a number in {lo}..{hi}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range; set it to a number in {lo}..{hi}")
    return value


def check_dsn(dsn: str, name: str = "TSUR_CLICKHOUSE_DSN") -> str:
    parsed = urlparse(dsn)
    if parsed.scheme == "chdb":
        if not parsed.path or parsed.path == "/":
            raise ConfigError(f"{name}={dsn!r} has no store path; use chdb:///absolute/path/to/warehouse")
        return dsn
    if parsed.scheme in ("http", "https"):
        if not parsed.hostname:
            raise ConfigError(f"{name}={dsn!r} has no host; use http(s)://user:password@host:8123/database")
        return dsn
    raise ConfigError(
        f"{name}={dsn!r} has an unknown scheme {parsed.scheme!r}; use chdb:///path (embedded) or http(s)://host:8123 (server)"
    )


def check_broker_url(url: str, name: str = "TSUR_BROKER_URL") -> str:
    for part in url.split(";"):
        parsed = urlparse(part if "://" in part else f"kafka://{part}")
        if parsed.scheme not in ("kafka", "aiokafka") or not parsed.hostname or not parsed.port:
            raise ConfigError(f"{name}={url!r} is not a broker URL; use kafka://host:port (several separated by ';')")
    return url


_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def check_host(host: str, name: str = "TSUR_API_HOST") -> str:
    """An IP address or a host name to bind to (no scheme, no port)."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not _HOSTNAME_RE.match(host):
        raise ConfigError(f"{name}={host!r} is not an IP address or host name; use e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)")
    return host


def _regions(env: dict) -> tuple[str, ...]:
    raw = env.get("TSUR_REGIONS") or "Краснодарский край"
    regions = tuple(dict.fromkeys(r.strip() for r in raw.split(",") if r.strip()))
    if not regions:
        raise ConfigError(f"TSUR_REGIONS={raw!r} names no region; set comma-separated region names, e.g. 'Краснодарский край'")
    return regions


def _broker_storage(env: dict) -> str:
    value = (env.get("TSUR_BROKER_STORAGE") or "s3").strip().lower()
    if value not in ("s3", "memory"):
        raise ConfigError(f"TSUR_BROKER_STORAGE={value!r}: use s3 (durable, the default) or memory (lost when the broker stops)")
    return value


def _switch(env: dict, name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "on", "true", "yes"):
        return True
    if raw in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{name}={raw!r} is not on/off; set it to on or off")


def _secret_value(env: dict, name: str, pattern: str = r"^\S{16,256}$") -> str:
    """A shared secret of a push route: unset (the route is off) or at least 16 characters."""
    raw = (env.get(name) or "").strip()
    if raw and not re.match(pattern, raw):
        raise ConfigError(f"{name} must be 16–256 characters without spaces"
                          + (" (letters, digits, '_' and '-': Telegram's rule)" if "A-Za-z" in pattern else "")
                          + "; set a long random secret (e.g. `openssl rand -hex 32`)")
    return raw


def _list(env: dict, name: str, default: tuple) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    return tuple(x.strip() for x in raw.split(",") if x.strip())


def _emails(env: dict) -> tuple[str, ...]:
    from reports.delivery import ADDRESS

    out = _list(env, "TSUR_NOTIFY_EMAILS", ())
    bad = [a for a in out if not ADDRESS.match(a)]
    if bad:
        raise ConfigError(f"TSUR_NOTIFY_EMAILS: not e-mail addresses: {', '.join(bad)}")
    return out


def _base_url(env: dict, name: str, default: str) -> str:
    raw = (env.get(name) or default).strip().rstrip("/")
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{name}={raw!r} is not an http(s) URL; use e.g. {default}")
    return raw


# Days kept per kind of data (warehouse/retention.py); 0 keeps rows forever.
RETENTION_DEFAULT_DAYS = {"raw": 180, "enriched": 730, "incidents": 1825}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    clickhouse_dsn: str
    broker_url: str
    broker_port: int
    topic_partitions: int
    broker_storage: str
    broker_s3_port: int
    broker_retention_hours: float
    broker_retention_mb: int
    sink_batch_size: int
    sink_batch_seconds: float
    fetch_wait_ms: int
    warehouse_lock_timeout: float
    worker_web_port: int
    airflow_conn_id: str
    pseudonym_key: bytes = field(repr=False)
    topics: dict = field(default_factory=lambda: dict(TOPIC_NAMES))
    regions: tuple = ("Краснодарский край",)
    api_host: str = "127.0.0.1"
    api_port: int = 8311
    api_read_key: bool = False
    airflow_port: int = 8080
    retention_days: dict = field(default_factory=dict)     # kind → days (warehouse/retention.py), 0 = forever
    place_region_centre: bool = True    # a street address and no settlement → the region's centre, as a guess
    enrich_process: bool = True         # TSUR_ENRICH_PROCESS: the worker enriches in a helper process (a second core)
    sector_model_env: str = ""          # TSUR_SECTOR_MODEL: the sector model artefact (.json + .npz beside it)
    sources_env: str = ""               # TSUR_SOURCES: the collectors' source registry (docs/intake.md)
    vk_token: str = field(default="", repr=False)     # TSUR_VK_TOKEN: a secret, never logged
    vk_api_url: str = "https://api.vk.com/method"
    vk_rps: float = 3.0
    telegram_web_url: str = "https://t.me"
    telegram_rps: float = 1.0
    collect_confirm_timeout: float = 300.0
    telegram_bot_token: str = field(default="", repr=False)   # TSUR_TELEGRAM_BOT_TOKEN
    telegram_api_id: int = 0                                  # TSUR_TELEGRAM_API_ID (an account over MTProto)
    telegram_api_hash: str = field(default="", repr=False)    # TSUR_TELEGRAM_API_HASH
    telegram_bot_api_url: str = "https://api.telegram.org"
    ok_app_key: str = ""                # TSUR_OK_APP_KEY: the OK application's public key
    ok_app_secret: str = field(default="", repr=False)   # TSUR_OK_APP_SECRET
    ok_token: str = field(default="", repr=False)        # TSUR_OK_TOKEN
    ok_api_url: str = "https://api.ok.ru/fb.do"
    ok_rps: float = 3.0
    collector_port: int = 6070          # TSUR_COLLECTOR_PORT: metrics of the supervised collectors (vk; telegram +1; ok +2)
    vk_callback_secret: str = field(default="", repr=False)        # TSUR_VK_CALLBACK_SECRET
    vk_callback_confirmation: str = field(default="", repr=False)  # TSUR_VK_CALLBACK_CONFIRMATION
    telegram_webhook_secret: str = field(default="", repr=False)   # TSUR_TELEGRAM_WEBHOOK_SECRET
    reopen_days: float = 7.0            # TSUR_REOPEN_DAYS: complaints this long after a resolution reopen it
    # alerts to people (streams/notify.py, docs/quality-control.md)
    notify_kinds: tuple = ("missing_person",)   # TSUR_NOTIFY_KINDS
    notify_emails: tuple = ()           # TSUR_NOTIFY_EMAILS
    notify_smtp_host: str = ""          # TSUR_NOTIFY_SMTP_HOST
    notify_smtp_port: int = 25          # TSUR_NOTIFY_SMTP_PORT
    notify_smtp_user: str = ""          # TSUR_NOTIFY_SMTP_USER
    notify_smtp_password: str = field(default="", repr=False)   # TSUR_NOTIFY_SMTP_PASSWORD
    notify_smtp_starttls: bool = False  # TSUR_NOTIFY_SMTP_STARTTLS
    notify_sender: str = "tsur@localhost"   # TSUR_NOTIFY_SENDER
    notify_webhook_url: str = ""        # TSUR_NOTIFY_WEBHOOK_URL
    notify_telegram_chat: str = ""      # TSUR_NOTIFY_TELEGRAM_CHAT (with TSUR_TELEGRAM_BOT_TOKEN)

    @property
    def embedded_warehouse(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb:")

    @property
    def bootstrap_servers(self) -> list[str]:
        return [u.split("://", 1)[-1] for u in self.broker_url.split(";")]

    @property
    def sector_model(self) -> Path:
        """The centre's own sector model (retrained with its operators' corrections and published by
        `tsur train-sectors --with-corrections --publish-if-better`): TSUR_SECTOR_MODEL, else
        <data dir>/models/what.json. Where no such file exists, the packaged model is used."""
        return Path(self.sector_model_env).expanduser() if self.sector_model_env else self.data_dir / "models" / "what.json"

    @property
    def sources_path(self) -> Path:
        """The source registry of `tsur collect`: TSUR_SOURCES, else <data dir>/sources.yaml."""
        return Path(self.sources_env).expanduser() if self.sources_env else self.data_dir / "sources.yaml"

    @property
    def airflow_home(self) -> Path:
        return self.data_dir / "airflow"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("TSUR_DATA_DIR") or PROJECT_ROOT / "data").expanduser().resolve()
        dsn = check_dsn(env.get("TSUR_CLICKHOUSE_DSN") or f"chdb://{data_dir / 'warehouse'}")
        port = _int(env, "TSUR_BROKER_PORT", 19092, 1024, 65535)
        broker_url = check_broker_url(env.get("TSUR_BROKER_URL") or f"kafka://127.0.0.1:{port}")
        topics = dict(TOPIC_NAMES)
        for key in TOPIC_NAMES:
            override = env.get(f"TSUR_TOPIC_{key.upper()}")
            if override:
                topics[key] = override
        return cls(
            data_dir=data_dir,
            clickhouse_dsn=dsn,
            broker_url=broker_url,
            broker_port=port,
            broker_storage=_broker_storage(env),
            broker_s3_port=_int(env, "TSUR_BROKER_S3_PORT", 19100, 1024, 65535),
            broker_retention_hours=_float(env, "TSUR_BROKER_RETENTION_HOURS", 24.0, 0.001, 24 * 365 * 10),
            broker_retention_mb=_int(env, "TSUR_BROKER_RETENTION_MB", 1024, 1, 10_000_000),
            topic_partitions=_int(env, "TSUR_TOPIC_PARTITIONS", 4, 1, 1024),
            sink_batch_size=_int(env, "TSUR_SINK_BATCH_SIZE", 2000, 1, 1_000_000),
            sink_batch_seconds=_float(env, "TSUR_SINK_BATCH_SECONDS", 0.5, 0.01, 600),
            fetch_wait_ms=_int(env, "TSUR_FETCH_WAIT_MS", 200, 1, 60_000),
            warehouse_lock_timeout=_float(env, "TSUR_WAREHOUSE_LOCK_TIMEOUT", 120.0, 0.1, 3600),
            worker_web_port=_int(env, "TSUR_WORKER_WEB_PORT", 6066, 1024, 65535),
            airflow_conn_id=env.get("TSUR_AIRFLOW_CONN_ID") or "tsur_warehouse",
            pseudonym_key=_pseudonym_key(env, data_dir),
            topics=topics,
            regions=_regions(env),
            api_host=check_host((env.get("TSUR_API_HOST") or "127.0.0.1").strip()),
            api_port=_int(env, "TSUR_API_PORT", 8311, 1, 65535),
            api_read_key=_switch(env, "TSUR_API_READ_KEY", False),
            airflow_port=_int(env, "TSUR_AIRFLOW_PORT", 8080, 1024, 65535),
            place_region_centre=_switch(env, "TSUR_PLACE_REGION_CENTRE", True),
            enrich_process=_switch(env, "TSUR_ENRICH_PROCESS", True),
            sector_model_env=(env.get("TSUR_SECTOR_MODEL") or "").strip(),
            sources_env=(env.get("TSUR_SOURCES") or "").strip(),
            vk_token=(env.get("TSUR_VK_TOKEN") or "").strip(),
            vk_api_url=_base_url(env, "TSUR_VK_API_URL", "https://api.vk.com/method"),
            vk_rps=_float(env, "TSUR_VK_RPS", 3.0, 0.01, 1000),
            telegram_web_url=_base_url(env, "TSUR_TELEGRAM_WEB_URL", "https://t.me"),
            telegram_rps=_float(env, "TSUR_TELEGRAM_RPS", 1.0, 0.01, 1000),
            collect_confirm_timeout=_float(env, "TSUR_COLLECT_CONFIRM_TIMEOUT", 300.0, 1, 86400),
            telegram_bot_token=(env.get("TSUR_TELEGRAM_BOT_TOKEN") or "").strip(),
            telegram_api_id=_int(env, "TSUR_TELEGRAM_API_ID", 0, 0, 2**31 - 1),
            telegram_api_hash=(env.get("TSUR_TELEGRAM_API_HASH") or "").strip(),
            telegram_bot_api_url=_base_url(env, "TSUR_TELEGRAM_BOT_API_URL", "https://api.telegram.org"),
            ok_app_key=(env.get("TSUR_OK_APP_KEY") or "").strip(),
            ok_app_secret=(env.get("TSUR_OK_APP_SECRET") or "").strip(),
            ok_token=(env.get("TSUR_OK_TOKEN") or "").strip(),
            ok_api_url=_base_url(env, "TSUR_OK_API_URL", "https://api.ok.ru/fb.do"),
            ok_rps=_float(env, "TSUR_OK_RPS", 3.0, 0.01, 1000),
            collector_port=_int(env, "TSUR_COLLECTOR_PORT", 6070, 1024, 65533),
            vk_callback_secret=_secret_value(env, "TSUR_VK_CALLBACK_SECRET"),
            vk_callback_confirmation=(env.get("TSUR_VK_CALLBACK_CONFIRMATION") or "").strip(),
            telegram_webhook_secret=_secret_value(env, "TSUR_TELEGRAM_WEBHOOK_SECRET", pattern=r"^[A-Za-z0-9_-]{16,256}$"),
            reopen_days=_float(env, "TSUR_REOPEN_DAYS", 7.0, 0.01, 365),
            notify_kinds=_list(env, "TSUR_NOTIFY_KINDS", ("missing_person",)),
            notify_emails=_emails(env),
            notify_smtp_host=(env.get("TSUR_NOTIFY_SMTP_HOST") or "").strip(),
            notify_smtp_port=_int(env, "TSUR_NOTIFY_SMTP_PORT", 25, 1, 65535),
            notify_smtp_user=(env.get("TSUR_NOTIFY_SMTP_USER") or "").strip(),
            notify_smtp_password=env.get("TSUR_NOTIFY_SMTP_PASSWORD") or "",
            notify_smtp_starttls=_switch(env, "TSUR_NOTIFY_SMTP_STARTTLS", False),
            notify_sender=(env.get("TSUR_NOTIFY_SENDER") or "tsur@localhost").strip(),
            notify_webhook_url=_base_url(env, "TSUR_NOTIFY_WEBHOOK_URL", "") if env.get("TSUR_NOTIFY_WEBHOOK_URL") else "",
            notify_telegram_chat=(env.get("TSUR_NOTIFY_TELEGRAM_CHAT") or "").strip(),
            retention_days={kind: _int(env, f"TSUR_RETENTION_{kind.upper()}_DAYS", days, 0, 36500)
                            for kind, days in RETENTION_DEFAULT_DAYS.items()},
        )


def _pseudonym_key(env: dict, data_dir: Path) -> bytes:
    """The keyed-hash key for authors. Production sets TSUR_PSEUDONYM_KEY (a secret);
    the embedded default keeps a random key in the data dir (mode 0600), never in the repo."""
    raw = env.get("TSUR_PSEUDONYM_KEY")
    if raw:
        if len(raw) < 16:
            raise ConfigError("TSUR_PSEUDONYM_KEY is shorter than 16 characters; set a long random secret (e.g. `openssl rand -hex 32`)")
        return raw.encode()
    key_file = data_dir / "secrets" / "pseudonym.key"
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return key_file.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
