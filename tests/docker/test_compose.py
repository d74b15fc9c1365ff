"""What can be checked of docker/ without Docker: the compose file's services, builds, images and mounts
point at files that exist, and every image installs the pins of requirements/lock.txt like set-up does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipelines.common.config import load

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
OWN_IMAGES = {"ctrflow/spark", "ctrflow/trainer", "ctrflow/airflow", "ctrflow/hive-metastore"}


def _dockerfile(service: dict) -> Path:
    build = service["build"]
    context = (DOCKER / build["context"]).resolve()
    return context / build.get("dockerfile", "Dockerfile")


def test_compose_has_the_cluster_services():
    assert {
        "postgres",
        "hive-metastore",
        "spark-master",
        "spark-worker-1",
        "spark-worker-2",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
    } <= set(SERVICES)
    workers = [s for s in SERVICES.values() if "org.apache.spark.deploy.worker.Worker" in s.get("command", [])]
    assert len(workers) == 2 and all("spark://spark-master:7077" in w["command"] for w in workers)
    airflow_db = SERVICES["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert airflow_db.startswith("postgresql") and "@postgres:" in airflow_db
    assert "jdbc:postgresql://postgres" in SERVICES["hive-metastore"]["environment"]["SERVICE_OPTS"]


def test_builds_and_mounts_reference_existing_files():
    for name, service in SERVICES.items():
        if "build" in service:
            assert _dockerfile(service).is_file(), f"{name}: {_dockerfile(service)} missing"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (DOCKER / source).exists(), f"{name}: mount {source} missing"
            else:
                assert source in COMPOSE["volumes"], f"{name}: undeclared volume {source}"


def test_every_own_image_is_built_by_some_service_and_others_are_pinned():
    built = {s["image"].split(":")[0] for s in SERVICES.values() if "build" in s}
    for name, service in SERVICES.items():
        image = service["image"]
        repo, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{name}: image {image} is not pinned"
        if repo in OWN_IMAGES:
            assert repo in built, f"{name}: nothing builds {image}"


@pytest.mark.parametrize("image", ["spark", "trainer", "airflow"])
def test_dockerfiles_copy_existing_paths_and_install_the_lock(image):
    text = (DOCKER / image / "Dockerfile").read_text()
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", text, flags=re.M):
        for path in src.split():
            assert (ROOT / path).exists(), f"{image}: COPY {path} does not exist"
    if image == "trainer":  # builds on the Spark image, Horovod patched as in scripts/setup.sh
        assert "CMAKE_CXX_STANDARD 17" in text and "HOROVOD_WITH_GLOO=1" in text
        setup = (ROOT / "scripts" / "setup.sh").read_text()
        assert re.search(r"HOROVOD_VERSION=(\S+)", setup)[1] in text
    elif image == "airflow":  # client-mode drivers run here: train_ctr's needs Horovod, so FROM the trainer
        assert "FROM ${TRAINER_IMAGE}" in text and "ARG TRAINER_IMAGE=ctrflow/trainer:" in text
        build = SERVICES["airflow-scheduler"]["build"]
        assert build["additional_contexts"]["ctrflow-trainer"] == "service:spark-worker-1"
        assert SERVICES["spark-worker-1"]["image"].startswith("ctrflow/trainer:")
    else:
        assert "pip install --no-cache-dir -r /opt/ctrflow/requirements/lock.txt" in text
        assert "COPY requirements/lock.txt" in text and "conf/jars/pom.xml" in text


def test_cluster_overlay_points_the_dags_at_the_compose_connection():
    settings = load("cluster").settings
    assert settings.dags.conn_id == "spark_cluster" and settings.spark.profile == "cluster"
    conn = SERVICES["airflow-scheduler"]["environment"]["AIRFLOW_CONN_SPARK_CLUSTER"]
    assert '"spark://spark-master"' in conn and "7077" in conn
    assert settings.project.jars_dir == "/opt/ctrflow/jars"
    assert "/opt/ctrflow/jars" in (DOCKER / "spark" / "Dockerfile").read_text()


# --- secrets: every password and key comes from docker/.env (template: docker/.env.example) ---------------

INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+):\?[^}]*\}")  # ${VAR:?message}: required, no default
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$", re.I)
SHARED_AIRFLOW_SECRETS = {
    "AIRFLOW__CORE__FERNET_KEY": "AIRFLOW_FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET": "AIRFLOW_JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY": "AIRFLOW_API_SECRET_KEY",
}


def _env_example() -> dict[str, str]:
    lines = (DOCKER / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def _literal_secrets(text: str) -> list[str]:
    """Password-like values in `text` that are not a ${VAR:?...} interpolation: URL userinfo passwords,
    -D...Password= options."""
    value = r"(\$\{[^}]*\}|[^@\s]+)"
    found = re.findall(rf"://[^:/@\s]+:{value}@", text) + re.findall(rf"Password={value}", text)
    return [value for value in found if not INTERPOLATION.fullmatch(value)]


def test_no_literal_secret_in_the_compose_file():
    for name, service in SERVICES.items():
        for key, value in service.get("environment", {}).items():
            value = str(value)
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(value), f"{name}: {key} is not a required ${{VAR:?...}}"
            assert not _literal_secrets(value), f"{name}: {key} holds a literal password"
    assert _literal_secrets("jdbc://u:hunter2@h/db -Dx.Password=hive") == ["hunter2", "hive"]  # the check bites


def test_every_airflow_service_shares_one_fernet_key_and_jwt_secret():
    airflow = {name: s for name, s in SERVICES.items() if s["image"].startswith("ctrflow/airflow")}
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"} <= set(airflow)
    for name, service in airflow.items():
        env = service["environment"]
        for setting, variable in SHARED_AIRFLOW_SECRETS.items():
            assert INTERPOLATION.fullmatch(env[setting])[1] == variable, f"{name}: {setting}"


def test_env_example_defines_every_variable_with_dev_only_values():
    used = set(INTERPOLATION.findall((DOCKER / "docker-compose.yml").read_text()))
    example = _env_example()
    assert used == set(example), f"compose uses {sorted(used)}, .env.example has {sorted(example)}"
    assert "DEVELOPMENT-ONLY" in (DOCKER / ".env.example").read_text()
    for variable, value in example.items():
        if variable != "AIRFLOW_FERNET_KEY":
            assert value.startswith("dev-only-"), f"{variable}={value} does not say it is dev-only"
    from cryptography.fernet import Fernet  # pinned in requirements/lock.txt (Airflow needs it)

    Fernet(example["AIRFLOW_FERNET_KEY"])  # a valid key, else every Airflow container fails to start
    assert "/docker/.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_postgres_init_takes_its_passwords_from_the_environment():
    init = (DOCKER / "postgres" / "init.sh").read_text()
    assert "PASSWORD :'airflow_pw'" in init and "PASSWORD :'hive_pw'" in init
    assert not re.search(r"PASSWORD\s+'", init)
    env = SERVICES["postgres"]["environment"]
    assert {"AIRFLOW_DB_PASSWORD", "HIVE_DB_PASSWORD"} <= set(env)
