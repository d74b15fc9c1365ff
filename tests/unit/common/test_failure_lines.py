"""The failure table, the cases that need no Spark: each failure class ends in one line naming what and
where, with its exit code (2 user/config, 1 runtime, 3 gate refusal); a traceback only with --debug."""

from __future__ import annotations

import sys

import pytest

from jobs import cli
from jobs.harness import run_job
from pipelines.core.errors import DataError, GateRefused, one_line

DS = "2026-11-01"


def _lines(capsys) -> list[str]:
    """The error lines of stderr (the job's INFO log lines aside), after checking there is no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return [ln for ln in err.splitlines() if "error:" in ln]


@pytest.mark.parametrize(
    "state, expected",
    [
        ("file", "project.state_dir {path}: is a file, not a directory"),
        ("under a file", "project.state_dir {path}: not a writable directory (Not a directory)"),
        ("read-only", "project.state_dir {path}: not a writable directory ("),
    ],
    ids=["a file", "under a file", "read-only filesystem"],
)
def test_a_state_dir_that_cannot_hold_state_is_a_config_error(state, expected, tmp_path, capsys):
    path = {"file": tmp_path / "f", "under a file": tmp_path / "f" / "sub", "read-only": "/sys/ctrflow-state"}[state]
    (tmp_path / "f").write_text("not a directory")
    code = run_job("generate", ["--ds", DS, "--set", f"project.state_dir={path}"])  # before Spark starts
    lines = _lines(capsys)
    assert code == 2 and len(lines) == 1 and expected.format(path=path) in lines[0], lines


def test_an_unexpected_error_is_one_line_and_its_traceback_only_with_debug(monkeypatch, capsys):
    import jobs.generate

    def broken(spark, cfg):
        return {}["no such key"]

    monkeypatch.setattr(jobs.generate, "run", broken)
    monkeypatch.setattr("pipelines.common.spark.task_error_logs", lambda spark, audible: None)  # no JVM here
    assert run_job("generate", ["--ds", DS], spark=object()) == 1
    assert _lines(capsys) == [
        "ctrflow generate: error: KeyError: 'no such key' (unexpected KeyError; rerun with --debug for the traceback)"
    ]
    assert run_job("generate", ["--ds", DS, "--debug"], spark=object()) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert err.strip().splitlines()[-1] == "ctrflow generate: error: KeyError: 'no such key' (unexpected KeyError)"


@pytest.mark.parametrize(
    "exc, code, line",
    [
        (DataError(""), 1, "ctrflow generate: error: DataError"),
        (DataError("stg.x ds=2026-11-01: two\nlines"), 1, "ctrflow generate: error: stg.x ds=2026-11-01: two; lines"),
        (GateRefused("gate refused m v0003: auc 0.70 < champion 0.71"), 3, "ctrflow generate: error: gate refused m"),
    ],
    ids=["blank message", "two-line message", "gate refusal"],
)
def test_ctrflow_errors_are_never_blank_and_keep_their_exit_code(exc, code, line, monkeypatch, capsys):
    import jobs.generate

    def fail(spark, cfg):
        raise exc

    monkeypatch.setattr(jobs.generate, "run", fail)
    assert run_job("generate", ["--ds", DS], spark=object()) == code
    lines = _lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(line), lines


def test_ctrflow_commands_report_failures_the_same_way(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setitem(cli.COMMANDS, "models", broken)
    assert cli.main(["models"]) == 1
    assert _lines(capsys) == [
        "ctrflow models: error: RuntimeError: disk on fire (unexpected RuntimeError; rerun "
        "with --debug for the traceback)"
    ]


class _Throwable:
    """A stand-in for a py4j JavaObject: getClass().getName(), getMessage(), getCause()."""

    def __init__(self, name, message, cause=None):
        self.name, self.message, self.cause = name, message, cause

    def getClass(self):
        return self

    def getName(self):
        return self.name

    def getMessage(self):
        return self.message

    def getCause(self):
        return self.cause


def test_one_line_looks_past_spark_wrappers_to_the_file_and_the_root_cause():
    root = _Throwable("java.io.EOFException", "Unexpected end of input stream")
    read = _Throwable(
        "org.apache.spark.SparkException",
        "[FAILED_READ_FILE.NO_HINT] Encountered error while "
        "reading file file:/landing/ds=2026-11-01/part.tsv.gz.  SQLSTATE: KD001",
        root,
    )
    job = _Throwable(
        "org.apache.spark.SparkException",
        "Job aborted due to stage failure: Task 0 in stage 0.0 "
        "failed 1 times, most recent failure: ...\nDriver stacktrace:",
        read,
    )
    err = Exception("An error occurred while calling o3948.parquet.\n: org.apache.spark.SparkException: ...")
    err.java_exception = job
    assert one_line(err) == (
        "org.apache.spark.SparkException: [FAILED_READ_FILE.NO_HINT] Encountered error while "
        "reading file file:/landing/ds=2026-11-01/part.tsv.gz.  SQLSTATE: KD001 (caused by "
        "java.io.EOFException: Unexpected end of input stream)"
    )
    assert one_line(ValueError("")) == "ValueError"
    assert one_line(OSError(28, "No space left on device")) == "OSError: [Errno 28] No space left on device"


def test_debug_is_also_an_environment_switch(monkeypatch):
    from jobs.harness import debug_requested

    assert not debug_requested([]) or sys.flags.dev_mode
    monkeypatch.setenv("CTRFLOW_DEBUG", "1")
    assert debug_requested([])
    monkeypatch.setenv("CTRFLOW_DEBUG", "0")
    assert not debug_requested([]) and debug_requested(["--debug"])
