"""The operator CLI: help on every command, one-line configuration errors, doctor in words."""
import subprocess

import pytest

from tests.conftest import tsur_cmd

COMMANDS = ["demo", "migrate", "broker", "worker", "sample", "ingest", "collect", "telegram-login", "query", "doctor", "airflow"]


def run(args, env, timeout=120):
    return subprocess.run(tsur_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, tsur_env):
    r = run([command, "--help"], tsur_env)
    assert r.returncode == 0 and "usage: tsur" in r.stdout


@pytest.mark.parametrize("var, value, needle", [
    ("TSUR_CLICKHOUSE_DSN", "postgres://x", "TSUR_CLICKHOUSE_DSN"),
    ("TSUR_BROKER_URL", "nonsense", "TSUR_BROKER_URL"),
    ("TSUR_TOPIC_PARTITIONS", "-3", "TSUR_TOPIC_PARTITIONS"),
])
def test_bad_configuration_is_one_line_without_traceback(tsur_env, var, value, needle):
    r = run(["migrate"], {**tsur_env, var: value})
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unreachable_broker_is_one_line(tsur_env, tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text('{"source":"vk","id":1,"text":"x","created_at":"2026-11-20T10:00:00Z"}\n')
    r = run(["ingest", str(f)], tsur_env)
    assert r.returncode == 1 and "TSUR_BROKER_URL" in r.stderr and "Traceback" not in r.stderr


def test_migrate_then_query(tsur_env):
    assert run(["migrate"], tsur_env).returncode == 0
    r = run(["query", "SELECT count() AS n FROM posts_raw", "--format", "csv"], tsur_env)
    assert r.returncode == 0 and r.stdout.splitlines() == ["n", "0"]
    r = run(["query", "DROP TABLE posts_raw"], tsur_env)  # read-only
    assert r.returncode == 1 and "query failed" in r.stderr


def test_doctor_says_what_is_wrong(tsur_env):
    r = run(["doctor"], tsur_env, timeout=300)
    assert r.returncode == 1
    assert "[warn] broker" in r.stdout and "tsur broker" in r.stdout      # the local broker is simply not started
    r2 = run(["doctor"], {**tsur_env, "TSUR_BROKER_URL": "kafka://127.0.0.1:9"}, timeout=300)
    assert "[FAIL] broker" in r2.stdout and "TSUR_BROKER_URL" in r2.stdout
    assert "[FAIL] migrations" in r.stdout and "tsur migrate" in r.stdout
    assert "[warn] alerts" in r.stdout and "TSUR_NOTIFY_WEBHOOK_URL" in r.stdout     # no channel configured
    r3 = run(["doctor"], {**tsur_env, "TSUR_NOTIFY_EMAILS": "poisk@example.org"}, timeout=300)
    assert "[FAIL] alerts" in r3.stdout and "TSUR_NOTIFY_SMTP_HOST" in r3.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_sample_is_reproducible(tsur_env, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out in (a, b):
        assert run(["sample", "--days", "2", "--per-day", "50", "--end", "2026-11-20", "--out", str(out)], tsur_env).returncode == 0
    assert a.read_text() == b.read_text() and len(a.read_text().splitlines()) > 50


def test_collect_refuses_a_bad_registry_or_a_missing_token_in_one_line(tsur_env, tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("region: Краснодарский край\nvk:\n  communities:\n    - owner: abc\n", encoding="utf-8")
    r = run(["collect", "--sources", str(bad), "--once"], tsur_env)
    assert r.returncode == 1 and "vk.communities[0].owner: 'abc' must be a non-zero integer" in r.stderr
    assert "Traceback" not in r.stderr
    good = tmp_path / "good.yaml"
    good.write_text("region: Краснодарский край\nvk:\n  communities:\n    - owner: -1\n", encoding="utf-8")
    r = run(["collect", "--sources", str(good), "--once"], tsur_env)
    assert r.returncode == 1 and "TSUR_VK_TOKEN is not set" in r.stderr and "Traceback" not in r.stderr


def test_doctor_checks_the_sources_the_token_and_says_a_closed_network_is_a_warning(tsur_env, tmp_path):
    from intake.replay_server import Replay, ReplayThread
    from tsur.config import Settings
    from tsur.doctor import FAIL, OK, WARN, _check_collectors

    reg = tmp_path / "sources.yaml"
    env = {**tsur_env, "TSUR_SOURCES": str(reg)}
    assert _check_collectors(Settings.from_env(env))[0][1] == WARN                 # no registry: intake is off
    reg.write_text("region: X\nvk:\n  communities:\n    - owner: -1\ntelegram:\n  channels:\n    - name: chan_one\n", encoding="utf-8")
    checks = {name: (status, msg) for name, status, msg in _check_collectors(Settings.from_env(env))}
    assert checks["vk"][0] == FAIL and "TSUR_VK_TOKEN" in checks["vk"][1]
    closed = {**env, "TSUR_VK_TOKEN": "t", "TSUR_VK_API_URL": "http://127.0.0.1:9/method", "TSUR_TELEGRAM_WEB_URL": "http://127.0.0.1:9"}
    checks = {name: status for name, status, _ in _check_collectors(Settings.from_env(closed))}
    assert checks == {"collectors": OK, "vk": WARN, "telegram": WARN}
    replay = Replay("fake-right-token")
    replay.channel("chan_one")
    with ReplayThread(replay) as server:
        live = {**env, "TSUR_VK_API_URL": f"{server.url}/method", "TSUR_TELEGRAM_WEB_URL": server.url}
        checks = {name: (status, msg) for name, status, msg in _check_collectors(Settings.from_env({**live, "TSUR_VK_TOKEN": "wrong"}))}
        assert checks["vk"][0] == FAIL and "rejects TSUR_VK_TOKEN" in checks["vk"][1]
        checks = {name: status for name, status, _ in _check_collectors(Settings.from_env({**live, "TSUR_VK_TOKEN": "fake-right-token"}))}
        assert checks == {"collectors": OK, "vk": OK, "telegram": OK}
