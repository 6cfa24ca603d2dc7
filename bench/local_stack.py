"""What the stream benchmarks share: a fresh data dir, the embedded warehouse migrated, and the
local broker (Tansu) with its topics — their own ports, so they never meet a running stack."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_local_stack(prefix: str, broker_port: int, web_port: int):
    """(settings, the broker (tsur.broker.LocalBroker), the data dir) of a new embedded stack for one benchmark run."""
    data = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update({"TSUR_DATA_DIR": str(data), "TSUR_BROKER_PORT": str(broker_port), "TSUR_WORKER_WEB_PORT": str(web_port),
                       "TSUR_PSEUDONYM_KEY": "bench-key-0123456789abcdef", "TSUR_TOPIC_PARTITIONS": "4",
                       "TSUR_BROKER_S3_PORT": str(broker_port + 1)})
    os.environ.setdefault("TSUR_BROKER_STORAGE", "s3")       # the product's default; a bench may ask for memory
    os.environ.setdefault("TSUR_CACHE_DIR", str(ROOT / "data" / "cache"))
    from streams.topics import ensure_topics
    from tsur.broker import start_local_broker
    from tsur.config import Settings
    from warehouse.migrations import migrate
    from warehouse.session import warehouse_session

    s = Settings.from_env()
    with warehouse_session(s.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
    broker = start_local_broker(s)
    ensure_topics(s)
    return s, broker, data
