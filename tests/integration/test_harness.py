"""A job runs identically three ways (python -m jobs, ctrflow job, spark-submit) and on a real cluster.

Each run here is a new process with its own JVM and its own state directory (embedded Derby admits
one JVM per metastore), so these tests are the slow ones of the suite.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from pipelines.common import config
from pipelines.common.submit import spark_submit_command
from tests.conftest import run_cli, test_overrides

DAY = "2026-11-03"


def _result(output: str) -> dict:
    line = [ln for ln in output.splitlines() if " result {" in ln][-1]
    return json.loads(line.split(" result ", 1)[1])


def _sets(state: Path, *extra: str) -> list[str]:
    return [x for o in (*test_overrides(state), *extra) for x in ("--set", o)]


def test_python_m_jobs_help_lists_the_jobs():
    out = run_cli([sys.executable, "-m", "jobs", "--help"])
    assert out.returncode == 0
    assert re.search(r"^  generate +Generate a day of synthetic", out.stdout, re.M)
    assert run_cli(["ctrflow", "jobs"]).stdout == out.stdout


def test_user_errors_are_one_line_and_non_zero():
    for args, message in [
        (["-m", "jobs", "generate", "--ds", "yesterday"], "--ds 'yesterday': expected a day YYYY-MM-DD"),
        (["-m", "jobs", "generate"], "the following arguments are required: --ds"),
        (["-m", "jobs", "genrate", "--ds", DAY], "unknown job 'genrate'"),
        (
            ["-m", "jobs", "generate", "--ds", DAY, "--set", "synth.sed=3"],
            "synth.sed: unknown key (did you mean 'seed'?)",
        ),
        (["-m", "jobs", "generate", "--ds", DAY, "--env", "prd"], "--env prd: no directory"),
    ]:
        out = run_cli([sys.executable, *args])
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("how", ["python -m jobs", "ctrflow job", "spark-submit"])
def test_a_job_runs_the_same_three_ways(tmp_path, how):
    args = ["--ds", DAY, *_sets(tmp_path)]
    if how == "spark-submit":  # the command the Airflow operator runs, built from the same profile
        cmd = spark_submit_command(config.load(overrides=test_overrides(tmp_path)).settings, "generate", args)
        assert cmd[:3] == ["spark-submit", "--master", "local[2]"] and "--jars" in cmd
    else:
        cmd = (
            [sys.executable, "-m", "jobs", "generate", *args]
            if how == "python -m jobs"
            else ["ctrflow", "job", "generate", *args]
        )
    out = run_cli(cmd)
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr  # spark-submit's Python driver logs to its stdout
    result = _result(log)
    assert result["rows"] == 4000 and result["table"] == "raw.click_logs"
    # the same rows whichever way it ran: seed, day and config fix them
    assert result["positive_rate"] == 0.197
    assert "✓ writing 4,000 rows to raw.click_logs" in log  # stages are logged with timings
    assert len(list((tmp_path / "warehouse" / "raw.db" / "click_logs" / "_ctrflow_parts" / DAY).iterdir())) == 1


def test_job_on_a_multi_process_local_cluster(tmp_path):
    """local-cluster[2,1,1024]: a master and two worker JVMs with their own Python workers."""
    out = run_cli(
        [sys.executable, "-m", "jobs", "generate", "--ds", DAY, *_sets(tmp_path, "spark.profile=local_cluster")],
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = _result(out.stderr)
    assert result["rows"] == 4000
    assert "profile local_cluster" in out.stderr
