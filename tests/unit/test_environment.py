"""The set-up installed what the platform runs on, at the pinned versions, and they load together."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_installed_versions_are_the_locked_ones():
    locked = _locked()
    for name in [
        "pyspark",
        "pyspark-client",
        "delta-spark",
        "pyarrow",
        "pandas",
        "torch",
        "xgboost-cpu",
        "lightgbm",
        "faiss-cpu",
        "apache-airflow",
        "apache-airflow-providers-apache-spark",
        "pytest",
    ]:
        assert metadata.version(name) == locked[name], name
    assert int(metadata.version("pandas").split(".")[0]) < 3  # pandas 3 breaks pyspark's Arrow path


def test_pyspark_matches_its_jars_despite_pyspark_client():
    import pyspark

    jars = glob.glob(os.path.join(os.path.dirname(pyspark.__file__), "jars", "spark-core_*.jar"))
    assert [os.path.basename(j) for j in jars] == [f"spark-core_2.13-{pyspark.__version__}.jar"]


def test_delta_jar_matches_the_python_package():
    from pipelines.common.config import load

    jars = [os.path.basename(j) for j in glob.glob(os.path.join(load().settings.project.jars_path, "*.jar"))]
    assert f"delta-spark_4.2_2.13-{metadata.version('delta-spark')}.jar" in jars


def test_horovod_has_pytorch_and_gloo():
    out = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "horovodrun"), "--check-build"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "[X] PyTorch" in out and "[X] Gloo" in out


def test_the_frameworks_import_together():
    import faiss
    import horovod.torch as hvd
    import lightgbm
    import torch
    import xgboost
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    assert torch.distributed.is_gloo_available()
    assert hvd.gloo_built()
    assert faiss.IndexFlatL2(4).d == 4
    assert xgboost.__version__ and lightgbm.__version__ and SparkSubmitOperator
