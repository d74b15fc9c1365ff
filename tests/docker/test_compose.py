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
    assert {"postgres", "hive-metastore", "spark-master", "spark-worker-1", "spark-worker-2", "airflow-init",
            "airflow-apiserver", "airflow-scheduler"} <= set(SERVICES)
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
