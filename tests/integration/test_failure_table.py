"""The failure table, the cases that need Spark (on the shared session): an unreadable input file, a
failing Python worker and a day of garbage each end in one line naming the file or source and day, with
exit code 1, and no Java or Python stack trace reaches the console (capfd: the JVM's output too)."""

from __future__ import annotations

import gzip
import os

import pytest

from jobs.harness import run_job
from pipelines.core.errors import one_line


def _landing(settings, day: str, name: str, data: bytes) -> str:
    folder = settings.project.path("landing", "click_logs", f"ds={day}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _criteo_line(i: int) -> str:
    return "\t".join([str(i % 2), *[str(i + j) for j in range(13)], *[f"{i * 7 + j:08x}" for j in range(26)]])


def _ingest(spark, overrides, day: str) -> int:
    sets = [x for o in overrides for x in ("--set", o)]
    return run_job("ingest", ["--ds", day, "--source", "criteo_tsv", *sets], spark=spark)


def _error_line(capfd) -> str:
    out = capfd.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text and "\tat org.apache" not in text, text[-3000:]
    errors = [ln for ln in out.err.splitlines() if " error: " in ln]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("case", ["truncated gzip", "garbage day"])
def test_unreadable_or_garbage_input_is_one_line_naming_the_file_or_day(case, spark, overrides, settings, capfd):
    lines = "\n".join(_criteo_line(i) for i in range(400)).encode() + b"\n"
    if case == "truncated gzip":
        day = "2026-12-10"
        path = _landing(settings, day, "part-0.tsv.gz", gzip.compress(lines)[:700])
        assert _ingest(spark, overrides, day) == 1
        line = _error_line(capfd)
        assert f"{os.path.basename(path)}" in line and "EOFException" in line, line
        assert "rerun with --debug for the traceback" in line
    else:
        day = "2026-12-11"
        _landing(settings, day, "part-0.tsv", os.urandom(20000).replace(b"\n", b"\x00"))
        assert _ingest(spark, overrides, day) == 1
        line = _error_line(capfd)
        assert f"source criteo_tsv ds={day}:" in line and "above max_bad_fraction" in line, line


def test_a_python_worker_failure_is_its_own_last_line(spark):
    def fail(batches):
        for _ in batches:
            raise ValueError("column C1: index 9 outside its vocabulary [0, 5)")
        yield from ()

    with pytest.raises(Exception) as e:
        spark.range(4).mapInArrow(fail, "id long").collect()
    assert one_line(e.value) == "in a Python worker: ValueError: column C1: index 9 outside its vocabulary [0, 5)"
