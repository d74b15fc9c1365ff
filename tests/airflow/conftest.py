"""Airflow on a private SQLite database: AIRFLOW_HOME in a temp dir, set before Airflow is imported.

The DAGs folder holds links to dags/*.py, the how-to example DAGs of docs/examples/ and the test DAGs
of tests/airflow/dags/, so `dag.test()` (which syncs the folder into the metadata database) knows them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="ctrflow-airflow-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
DAGS_FOLDER.mkdir()
for f in [*ROOT.glob("dags/*.py"), *ROOT.glob("docs/examples/*_dag.py"), *ROOT.glob("tests/airflow/dags/*.py")]:
    (DAGS_FOLDER / f.name).symlink_to(f)

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
    }
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """`airflow db migrate` once per test session (about 10 s)."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return AIRFLOW_HOME
