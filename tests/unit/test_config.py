import pytest

from tsur.config import ConfigError, Settings


def test_defaults_point_at_embedded_store(tmp_path):
    s = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path), "TSUR_PSEUDONYM_KEY": "k" * 32})
    assert s.clickhouse_dsn == f"chdb://{tmp_path}/warehouse"
    assert s.embedded_warehouse
    assert s.broker_url == "kafka://127.0.0.1:19092"
    assert s.bootstrap_servers == ["127.0.0.1:19092"]
    assert s.topics["posts_raw"] == "posts.raw"


@pytest.mark.parametrize("env, needle", [
    ({"TSUR_CLICKHOUSE_DSN": "mysql://x"}, "TSUR_CLICKHOUSE_DSN"),
    ({"TSUR_CLICKHOUSE_DSN": "chdb://"}, "store path"),
    ({"TSUR_CLICKHOUSE_DSN": "http://"}, "no host"),
    ({"TSUR_BROKER_URL": "localhost"}, "TSUR_BROKER_URL"),
    ({"TSUR_TOPIC_PARTITIONS": "many"}, "TSUR_TOPIC_PARTITIONS"),
    ({"TSUR_TOPIC_PARTITIONS": "0"}, "out of range"),
    ({"TSUR_SINK_BATCH_SECONDS": "-1"}, "TSUR_SINK_BATCH_SECONDS"),
    ({"TSUR_FETCH_WAIT_MS": "0"}, "TSUR_FETCH_WAIT_MS"),
    ({"TSUR_PSEUDONYM_KEY": "short"}, "TSUR_PSEUDONYM_KEY"),
])
def test_bad_settings_name_the_variable(tmp_path, env, needle):
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({"TSUR_DATA_DIR": str(tmp_path), **env})
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg


def test_embedded_key_is_created_once_and_private(tmp_path):
    a = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path)})
    b = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path)})
    key_file = tmp_path / "secrets" / "pseudonym.key"
    assert a.pseudonym_key == b.pseudonym_key and len(a.pseudonym_key) == 64
    assert key_file.stat().st_mode & 0o077 == 0


def test_server_dsn_is_accepted(tmp_path):
    s = Settings.from_env({"TSUR_DATA_DIR": str(tmp_path), "TSUR_PSEUDONYM_KEY": "k" * 32,
                           "TSUR_CLICKHOUSE_DSN": "https://reader:pw@ch.example:8443/tsur"})
    assert not s.embedded_warehouse
