"""Retention: TTLs follow the settings, re-applying is a no-op, expired raw posts disappear while
aggregates stay."""
from datetime import date, datetime, timedelta, timezone

import pytest

from tsur.config import ConfigError, Settings
from warehouse import retention
from warehouse.migrations import migrate
from warehouse.session import warehouse_session


def test_ttls_follow_the_settings_and_expired_raw_posts_go(settings, monkeypatch):
    from intake.raw_post import COLUMNS

    with warehouse_session(settings.clickhouse_dsn) as c:
        migrate(c, log=lambda m: None)
        assert set(retention.apply(c, settings.retention_days, log=lambda m: None)) == {r.table for r in retention.RULES}
        assert retention.current_ttl(c, "posts_raw") == "TTL created_at + toIntervalDay(180)"
        assert retention.apply(c, settings.retention_days, log=lambda m: None) == []          # idempotent
        assert retention.current_ttl(c, "report_sla_daily") == ""                              # aggregates are kept

        monkeypatch.setenv("TSUR_RETENTION_RAW_DAYS", "30")
        monkeypatch.setenv("TSUR_RETENTION_INCIDENTS_DAYS", "0")
        s = Settings.from_env()
        assert retention.apply(c, s.retention_days, log=lambda m: None) == ["posts_raw", "incidents", "incident_status_events", "alerts", "incident_days"]
        assert retention.current_ttl(c, "incidents") == ""

        now = datetime.now(timezone.utc)
        row = dict.fromkeys(COLUMNS, "")
        rows = []
        for pid, age in (("old", 40), ("new", 5)):
            r = dict(row, post_id=pid, created_at=now - timedelta(days=age), ingested_at=now, lat=None, lon=None)
            rows.append([r[k] for k in COLUMNS])
        c.insert("posts_raw", rows, column_names=list(COLUMNS))
        c.insert("report_posts_daily", [[date(2020, 1, 1), "X", "vk", 1, 1, now]],
                 column_names=["day", "region", "source", "posts", "authors", "computed_at"])
        c.command("OPTIMIZE TABLE posts_raw FINAL")
        assert [r[0] for r in c.query("SELECT post_id FROM posts_raw").result_rows] == ["new"]
        assert c.query("SELECT count() FROM report_posts_daily").result_rows[0][0] == 1


def test_retention_settings_are_validated(monkeypatch):
    monkeypatch.setenv("TSUR_RETENTION_RAW_DAYS", "-1")
    with pytest.raises(ConfigError, match="TSUR_RETENTION_RAW_DAYS"):
        Settings.from_env()
