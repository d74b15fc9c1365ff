"""The pure parts of operators/scheduler.py (the loopback cluster's tests drive the rest for real)."""

from __future__ import annotations

import datetime as dt

from operators.scheduler import RunOutcome, TaskInterval, latest_interval, table

T0 = dt.datetime(2026, 11, 3, 0, 0, tzinfo=dt.UTC)


def _task(name: str, start_s: float, end_s: float) -> TaskInterval:
    return TaskInterval(name, "success", T0 + dt.timedelta(seconds=start_s), T0 + dt.timedelta(seconds=end_s), 1)


def test_latest_interval_is_yesterday():
    assert latest_interval(dt.date(2026, 12, 2)) == dt.date(2026, 12, 1)
    assert latest_interval(dt.date(2027, 1, 1)) == dt.date(2026, 12, 31)


def test_overlap_of_two_tasks():
    tasks = {t.task_id: t for t in (_task("a", 0, 100), _task("b", 60, 200), _task("c", 150, 160))}
    run = RunOutcome(dt.date(2026, 11, 3), "r", "scheduled", "success", tasks)
    assert run.overlap("a", "b") == 40 and run.overlap("b", "a") == 40
    assert run.overlap("a", "c") == 0  # one after the other
    text = table(run)
    assert text.splitlines()[0] == "2026-11-03 (scheduled): success"
    assert "+    60 s .. +   200 s" in text
