"""The embedded Derby metastore's lock: a second ctrflow process on the same state directory fails at once
with one line (before Spark starts), and neither a killed holder nor Derby's stale db.lck blocks anyone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pipelines.common.spark import METASTORE_LOCK
from tests.conftest import ROOT, run_cli, test_overrides

HOLD = (
    "import sys\nfrom pipelines.common.spark import lock_metastore\n"
    "lock_metastore(sys.argv[1])\nprint('locked', flush=True)\nsys.stdin.read()\n"
)


def _holder(state: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state)],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline().strip() == "locked", proc.stderr.read()
    return proc


def _job(state: Path) -> subprocess.CompletedProcess:
    sets = [x for o in test_overrides(state) for x in ("--set", o)]
    return run_cli([sys.executable, "-m", "jobs", "generate", "--ds", "2026-11-03", *sets], timeout=300)


def test_a_second_process_fails_with_one_line_and_a_killed_holder_does_not_block(tmp_path):
    # what a killed Derby leaves behind must not count as a holder
    (tmp_path / "metastore_db").mkdir()
    (tmp_path / "metastore_db" / "db.lck").write_text("stale")
    (tmp_path / METASTORE_LOCK).write_text("999999999")
    holder = _holder(tmp_path)
    try:
        out = _job(tmp_path)
        assert out.returncode == 1, out.stderr[-3000:]
        line = (
            f"ctrflow generate: error: another ctrflow job holds the metastore at {tmp_path}/metastore_db; "
            f"use the Postgres metastore for concurrency (holder: pid {holder.pid})"
        )
        errors = [ln for ln in out.stderr.splitlines() if "error" in ln.lower()]
        assert errors[-1] == line and "Traceback" not in out.stderr  # the job's log lines, then this one
        assert "HiveException" not in out.stderr and "SparkContext" not in out.stderr  # Spark never started
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    again = _holder(tmp_path)  # the kernel dropped the killed holder's flock
    again.stdin.close()
    assert again.wait(timeout=60) == 0


def test_the_lock_is_idempotent_within_a_process(tmp_path):
    code = (
        "import sys\nfrom pipelines.common.spark import lock_metastore\n"
        "lock_metastore(sys.argv[1]); lock_metastore(sys.argv[1] + '/.'); print('ok')"
    )
    out = run_cli([sys.executable, "-c", code, str(tmp_path)], env={"PYTHONPATH": str(ROOT)})
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
