"""Shared fixtures: one Spark session per test process (Spark takes ~10 s to start on 2 cores; `make test`
runs two processes, pytest-xdist).

The session uses the `local` profile with its own state directory (warehouse, Derby metastore) under
pytest's temp dir, so tests never touch the project's .state/ and a running job cannot lock them out.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.common import config

ROOT = Path(__file__).resolve().parents[1]

for noisy in ("py4j", "py4j.clientserver", "py4j.java_gateway"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

# Test modules that run whole jobs or DAGs on Spark, or start JVMs of their own: marked `slow`, so that
# `make test-fast` (the edit-test loop) leaves them out. `make test` (CI) runs everything.
SLOW_MODULES = {
    "tests/airflow/test_ctr_daily_run.py",
    "tests/airflow/test_recs_daily_run.py",
    "tests/integration/test_ann_jobs.py",
    "tests/integration/test_failure_table.py",
    "tests/integration/test_features_job.py",
    "tests/integration/test_gbdt_lr.py",
    "tests/integration/test_generate_job.py",
    "tests/integration/test_harness.py",
    "tests/integration/test_ingest.py",
    "tests/integration/test_ingest_accounting.py",
    "tests/integration/test_ingest_formats.py",
    "tests/integration/test_own_data.py",
    "tests/integration/test_train_ctr.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(item.fspath).resolve().relative_to(ROOT).as_posix() in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    # the loopback cluster's tests (tests/cluster/) run after everything else, in their file's order: they
    # start and stop a dozen processes and share what the earlier ones made
    items.sort(key=lambda item: Path(item.fspath).resolve().parent.name == "cluster")


def test_overrides(state_dir: Path, archive: bool = True) -> list[str]:
    """--set overrides every test run uses: private state, small shuffles, tiny synthetic days; the JVM
    flags of tests/jvm_archive.py (C1, serial GC, the class-data archive unless `archive=False`)."""
    from tests import jvm_archive

    return [
        f"project.state_dir={state_dir}",
        "spark.profiles.local.master=local[2]",
        "spark.profiles.local.conf.spark.sql.shuffle.partitions=2",
        "spark.profiles.local.conf.spark.default.parallelism=2",
        "spark.profiles.local.conf.spark.driver.memory=3g",
        # a few hundred short JVMs on 2 cores: C1 only, one GC thread, classes from the shared archive
        f"spark.profiles.local.java_options={jvm_archive.java_options() if archive else jvm_archive.JIT}",
        *jvm_archive.class_path_sets(),
        "synth.profile=planted",  # the tests' tiny vocabularies; criteo_like has tests of its own
        "synth.rows_per_day=4000",
        "synth.block_rows=1000",
        "synth.cardinality_scale=0.001",
        "synth.write_tsv=false",
        "ctr.epochs=3",  # the tests check behaviour, not quality: fewer epochs than the shipped 8
        # and a shorter LR sweep: on a few thousand rows each LBFGS iteration is one Spark job of pure
        # overhead, and the shipped grid (5 values) x 50 iterations took ~3 min per LR of a tiny train_gbdt_lr
        "gbdt.lr.reg_grid=[0.001,0.01,0.1]",
        "gbdt.lr.max_iter=30",
    ]


test_overrides.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="session")
def overrides(state_dir) -> list[str]:
    return test_overrides(state_dir)


@pytest.fixture(scope="session")
def loaded(overrides) -> config.LoadedConfig:
    return config.load("local", overrides=overrides)


@pytest.fixture(scope="session")
def settings(loaded):
    return loaded.settings


@pytest.fixture(scope="session")
def spark(settings):
    from pipelines.common.spark import get_session

    session = get_session(settings)
    real_stop = session.stop
    session.stop = lambda: None  # code under test must not end the shared session
    yield session
    real_stop()


@pytest.fixture(scope="module", autouse=True)
def _release_spark_memory():
    """After each test module, the shared session lets go of what the module left behind (cached frames,
    Delta logs, unreferenced broadcasts): one session runs ~500 tests for an hour, and a CI run saw a later
    module's broadcast fail for memory the earlier ones still held."""
    yield
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.catalog.clearCache()
        jvm = session.sparkContext._jvm
        jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
        jvm.System.gc()


def run_cli(args: list[str], timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command from the project root with the project's interpreter on PATH."""
    import os

    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **(env or {})}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=full_env)
