"""docker-compose.yml describes the production stack; it cannot run here, so check its shape."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_required_services_exist():
    need = {"kafka", "clickhouse", "postgres", "tsur-worker", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer", "grafana"}
    assert need <= set(SERVICES)


def test_images_are_pinned_to_versions():
    for name, svc in SERVICES.items():
        image = svc.get("image")
        assert image, f"{name} has no image"
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and re.match(r"^\d+(\.\d+)+", tag), f"{name}: {image} is not pinned"


def test_env_wiring():
    worker = SERVICES["tsur-worker"]["environment"]
    assert worker["TSUR_BROKER_URL"] == "kafka://kafka:9092"
    assert worker["TSUR_CLICKHOUSE_DSN"].startswith("http://") and "@clickhouse:8123" in worker["TSUR_CLICKHOUSE_DSN"]
    sched = SERVICES["airflow-scheduler"]["environment"]
    assert "postgres:5432" in sched["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert '"conn_type": "clickhouse"' in sched["AIRFLOW_CONN_TSUR_WAREHOUSE"]
    assert SERVICES["grafana"]["environment"]["GF_INSTALL_PLUGINS"].startswith("grafana-clickhouse-datasource ")


def test_no_literal_secrets():
    secret_words = ("PASSWORD", "FERNET_KEY", "JWT_SECRET", "PSEUDONYM_KEY")
    for name, svc in SERVICES.items():
        env = svc.get("environment") or {}
        for key, value in env.items():
            if any(w in key for w in secret_words):
                assert "${" in str(value), f"{name}.{key} holds a literal secret"
            if "://" in str(value) and "@" in str(value):  # credentials inside URLs
                assert "${" in str(value), f"{name}.{key} holds a literal credential"


def test_dependencies_reference_services():
    for name, svc in SERVICES.items():
        for dep in (svc.get("depends_on") or {}):
            assert dep in SERVICES, f"{name} depends on unknown {dep}"


def test_celery_profile_for_airflow_at_scale():
    for name in ("redis", "airflow-worker"):
        assert SERVICES[name]["profiles"] == ["celery"], f"{name} must only start with --profile celery"
    worker = SERVICES["airflow-worker"]
    assert worker["command"] == ["airflow", "celery", "worker"] and worker["image"] == SERVICES["airflow-scheduler"]["image"]
    env = SERVICES["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert env["AIRFLOW__CELERY__BROKER_URL"].endswith("@redis:6379/0")
    assert "CHDB_POOL_SLOTS" in " ".join(SERVICES["airflow-init"]["command"])
