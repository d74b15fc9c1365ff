"""`--ds FIRST..LAST`: the job runs for each day in turn on one session, a result line each; the first day
that fails stops the range with one line naming it; a malformed range is a usage error (no Spark needed)."""

from __future__ import annotations

import pytest

import jobs.generate
from jobs.harness import run_job
from pipelines.core.errors import DataError
from pipelines.core.protocol import parse_result


def _results(err: str) -> list[dict]:
    return [r for r in map(parse_result, err.splitlines()) if r is not None]


def test_each_day_in_turn_on_one_session(monkeypatch, capsys):
    session, seen = object(), []

    def run(spark, cfg):
        seen.append((spark, cfg.ds.isoformat()))
        return {"day": cfg.ds.isoformat()}

    monkeypatch.setattr(jobs.generate, "run", run)
    assert run_job("generate", ["--ds", "2026-10-30..2026-11-02"], spark=session) == 0
    days = ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    assert seen == [(session, d) for d in days]
    assert [r["day"] for r in _results(capsys.readouterr().err)] == days
    assert run_job("generate", ["--ds=2026-11-01..2026-11-01"], spark=session) == 0  # one day, = form
    assert seen[-1] == (session, "2026-11-01")


def test_the_first_failing_day_stops_the_range_and_is_named(monkeypatch, capsys):
    def run(spark, cfg):
        if cfg.ds.day == 2:
            raise DataError("raw.click_logs holds 3 rows")
        return {"day": cfg.ds.isoformat()}

    monkeypatch.setattr(jobs.generate, "run", run)
    assert run_job("generate", ["--ds", "2026-11-01..2026-11-03"], spark=object()) == 1  # a DataError
    err = capsys.readouterr().err
    assert [r["day"] for r in _results(err)] == ["2026-11-01"]
    assert err.strip().splitlines()[-1] == "ctrflow generate 2026-11-02: error: raw.click_logs holds 3 rows"


@pytest.mark.parametrize(
    "value, message",
    [
        ("2026-11-03..2026-11-01", "the range ends before it starts"),
        ("2026-11-01..tomorrow", "expected a day YYYY-MM-DD or a range FIRST..LAST"),
        ("2025-01-01..2026-12-31", "730 days; at most 366 in one run"),
    ],
)
def test_a_malformed_range_is_one_usage_line(value, message, monkeypatch, capsys):
    monkeypatch.setattr(jobs.generate, "run", lambda spark, cfg: pytest.fail("ran"))
    assert run_job("generate", ["--ds", value], spark=object()) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"ctrflow generate: error: --ds {value!r}: {message}"
