"""What the end-to-end DAG tests share: jobs as subprocesses (the DAG's tasks open the same embedded
metastore, so nothing in the test process may hold it), `dag.test()` for a day with the test overrides, and
queries of the resulting tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sys

from pipelines.core.protocol import parse_result
from tests.airflow.conftest import DAGS_FOLDER
from tests.conftest import run_cli


def jobs(sets: list[str], *steps: list[str]) -> list[dict]:
    """Run jobs in turn in one process (each step [job, *args]): one Spark session, so a set-up pays one JVM
    start and its warm-up, not one per job. Their result lines, in order; the first failure stops the rest."""
    code = (
        "import json, sys\nfrom jobs.harness import run_job\n"
        "steps, sets = json.loads(sys.argv[1]), sys.argv[2:]\n"
        "for name, *args in steps:\n"
        "    if run_job(name, [*args, *sets]) != 0:\n"
        "        sys.exit(f'{name} {args} failed')\n"
    )
    argv = [a for s in sets for a in ("--set", s)]
    done = run_cli([sys.executable, "-c", code, json.dumps([list(s) for s in steps]), *argv], timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return [r for r in map(parse_result, done.stderr.splitlines()) if r is not None]


def run_dag(dag_id: str, sets: list[str], ds: dt.date):
    """Run a DAG for ds: the keys a triggered run may not set (state_dir, Spark) are the DAG files' own
    overrides ($CTRFLOW_DAG_OVERRIDES at parse time), the others come in the run's conf."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.session import create_session

    from operators.run_conf import RUN_CONF_PREFIXES

    in_conf = [s for s in sets if s.startswith(RUN_CONF_PREFIXES)]
    os.environ["CTRFLOW_DAG_OVERRIDES"] = shlex.join(s for s in sets if s not in in_conf)
    try:
        dag = DagBag(dag_folder=str(DAGS_FOLDER)).dags[dag_id]
        dr = dag.test(
            logical_date=dt.datetime(ds.year, ds.month, ds.day, tzinfo=dt.UTC), run_conf={"overrides": in_conf}
        )
    finally:
        del os.environ["CTRFLOW_DAG_OVERRIDES"]
    with create_session() as session:
        tis = {ti.task_id: (ti.state, ti.try_number) for ti in dr.get_task_instances(session=session)}
    return dr.state, tis


def query(sets: list[str], sql: str) -> list[dict]:
    """The rows of a small query, in a Spark process of its own."""
    return queries(sets, sql)[0]


def queries(sets: list[str], *sqls: str) -> list[list[dict]]:
    """The rows of each small query, all in one Spark process (each process costs a JVM's start)."""
    code = (
        "import json, sys\nfrom pipelines.common.config import load\nfrom pipelines.common.spark import get_session\n"
        "sqls, sets = json.loads(sys.argv[1]), sys.argv[2:]\n"
        "spark = get_session(load('local', sets).settings)\n"
        "print(json.dumps([[r.asDict() for r in spark.sql(q).collect()] for q in sqls], default=str))"
    )
    done = run_cli([sys.executable, "-c", code, json.dumps(sqls), *sets], timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def count(sets: list[str], sql: str) -> int:
    return counts(sets, sql)[0]


def counts(sets: list[str], *sqls: str) -> list[int]:
    """The one value of each single-row query (count(*) ...), in one Spark process."""
    return [int(next(iter(rows[0].values()))) for rows in queries(sets, *sqls)]
