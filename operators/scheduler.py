"""Driving a running Airflow scheduler from outside (the loopback cluster's `make run ENV=loopback` and its
tests): wait for the DAG processor to have parsed a DAG, unpause it, start a backfill, wait for runs with
progress lines, and read back each task's interval. Everything goes through Airflow's own metadata
database (the environment's AIRFLOW__DATABASE__SQL_ALCHEMY_CONN) and CLI; nothing here runs a task.

On an unpaused `@daily` DAG with catchup off, the scheduler itself creates the run of the latest complete
interval (logical date = yesterday, UTC): that is the scheduled run. Earlier days go through a backfill,
whose runs the scheduler runs too, `max_active_runs` of them at once.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import CtrflowError

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DONE = {"success", "failed"}


@dataclass(frozen=True)
class TaskInterval:
    task_id: str
    state: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    try_number: int


@dataclass(frozen=True)
class RunOutcome:
    ds: dt.date
    run_id: str
    run_type: str
    state: str
    tasks: dict[str, TaskInterval]

    def overlap(self, a: str, b: str) -> float:
        """Seconds during which tasks a and b both ran (0 when they did not overlap)."""
        x, y = self.tasks[a], self.tasks[b]
        if not (x.start and x.end and y.start and y.end):
            return 0.0
        return overlap_seconds((x.start, x.end), (y.start, y.end))


def overlap_seconds(a: tuple[dt.datetime, dt.datetime], b: tuple[dt.datetime, dt.datetime]) -> float:
    """Seconds during which the intervals a and b (start, end) both run; 0 when they do not overlap."""
    return max(0.0, (min(a[1], b[1]) - max(a[0], b[0])).total_seconds())


def latest_interval(today: dt.date | None = None) -> dt.date:
    """The logical date of a @daily DAG's latest complete interval: yesterday (UTC)."""
    return (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=1)


def airflow_cli(*args: str, timeout: float = 300) -> str:
    done = subprocess.run([AIRFLOW, *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise CtrflowError(f"airflow {' '.join(args[:2])}: exit {done.returncode}: {tail[0]}")
    return done.stdout


def wait_parsed(dag_id: str, timeout_s: float = 300) -> None:
    """Until the DAG processor has parsed `dag_id` (a DagModel row, not stale), or CtrflowError."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with create_session() as session:
            dag = session.get(DagModel, dag_id)
            if dag is not None and not dag.is_stale:
                return
        time.sleep(3)
    raise CtrflowError(f"{dag_id}: not parsed by the DAG processor within {timeout_s:.0f} s (see its log)")


def unpause(dag_id: str) -> None:
    airflow_cli("dags", "unpause", dag_id)


def backfill(dag_id: str, first: dt.date, last: dt.date, max_active_runs: int, conf: dict | None = None) -> None:
    """A backfill of [first, last] whose runs the scheduler runs, max_active_runs at once."""
    args = ["backfill", "create", "--dag-id", dag_id, "--from-date", first.isoformat()]
    args += ["--to-date", last.isoformat(), "--max-active-runs", str(max_active_runs)]
    args += ["--reprocess-behavior", "completed"]
    if conf:
        args += ["--dag-run-conf", json.dumps(conf)]
    airflow_cli(*args)


def clear(dag_id: str, ds: dt.date) -> None:
    """Run the day again: clear every task of the run of `ds` (the scheduler re-runs them)."""
    airflow_cli("tasks", "clear", dag_id, "--start-date", ds.isoformat(), "--end-date", ds.isoformat(), "--yes")


def _runs(dag_id: str, days: set[dt.date]) -> dict[dt.date, RunOutcome]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    out: dict[dt.date, RunOutcome] = {}
    with create_session() as session:
        for run in session.query(DagRun).filter(DagRun.dag_id == dag_id).all():
            day = run.logical_date.date() if run.logical_date else None
            if day not in days or (day in out and out[day].run_id > run.run_id):
                continue
            tasks = {
                ti.task_id: TaskInterval(ti.task_id, ti.state, ti.start_date, ti.end_date, ti.try_number)
                for ti in run.get_task_instances(session=session)
            }
            out[day] = RunOutcome(day, run.run_id, str(run.run_type), str(run.state), tasks)
    return out


def wait_runs(dag_id: str, days: list[dt.date], timeout_s: float, poll_s: float = 10) -> dict[dt.date, RunOutcome]:
    """Wait until the runs of `days` have ended, printing each task's start and end as the scheduler moves
    them; the outcomes (CtrflowError on timeout, naming the tasks still running)."""
    deadline, seen = time.monotonic() + timeout_s, {}
    runs: dict[dt.date, RunOutcome] = {}
    while True:
        runs = _runs(dag_id, set(days))
        for day, run in sorted(runs.items()):
            for task in run.tasks.values():
                key = (day, task.task_id)
                if seen.get(key) != task.state and task.state is not None:
                    seen[key] = task.state
                    stamp = time.strftime("%H:%M:%S")
                    print(f"[{stamp}] {dag_id} {day} {task.task_id}: {task.state}", file=sys.stderr, flush=True)
        if len(runs) == len(days) and all(r.state in DONE for r in runs.values()):
            return runs
        if time.monotonic() > deadline:
            running = [f"{d} {t.task_id}" for d, r in runs.items() for t in r.tasks.values() if t.state == "running"]
            missing = [str(d) for d in days if d not in runs]
            raise CtrflowError(
                f"{dag_id}: runs not finished within {timeout_s:.0f} s"
                + (f"; running: {', '.join(running)}" if running else "")
                + (f"; never created: {', '.join(missing)}" if missing else "")
            )
        time.sleep(poll_s)


def table(run: RunOutcome) -> str:
    """The run's tasks with state, start, end and duration: what `make run ENV=loopback` prints."""
    t0 = min((t.start for t in run.tasks.values() if t.start), default=None)
    lines = [f"{run.ds} ({run.run_type}): {run.state}"]
    for task in sorted(run.tasks.values(), key=lambda t: (t.start or dt.datetime.max.replace(tzinfo=dt.UTC))):
        if task.start and task.end and t0:
            span = f"+{(task.start - t0).total_seconds():6.0f} s .. +{(task.end - t0).total_seconds():6.0f} s"
        else:
            span = "not run"
        lines.append(f"  {task.task_id:<28} {str(task.state):<16} {span}")
    return "\n".join(lines)


def run_day(dag_id: str, ds: dt.date, timeout_s: float) -> RunOutcome:
    """Have the scheduler run `dag_id` for `ds` and wait for it: the latest interval is the scheduler's own
    run (created when the DAG is unpaused), an earlier day a one-day backfill; a day that already ran is
    cleared and runs again."""
    wait_parsed(dag_id)
    if ds in _runs(dag_id, {ds}):
        clear(dag_id, ds)
    elif ds != latest_interval():
        backfill(dag_id, ds, ds, max_active_runs=1)
    unpause(dag_id)
    return wait_runs(dag_id, [ds], timeout_s)[ds]


def outcome_json(run: RunOutcome) -> dict:
    def iso(t: dt.datetime | None) -> str | None:
        return t.isoformat() if t else None

    tasks = {
        k: {"state": t.state, "start": iso(t.start), "end": iso(t.end), "try_number": t.try_number}
        for k, t in run.tasks.items()
    }
    return {
        "ds": run.ds.isoformat(),
        "run_id": run.run_id,
        "run_type": run.run_type,
        "state": run.state,
        "tasks": tasks,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m operators.scheduler", description=run_day.__doc__)
    p.add_argument("dag_id")
    p.add_argument("--ds", type=dt.date.fromisoformat, default=None, help="default: the latest interval")
    p.add_argument(
        "--backfill",
        type=dt.date.fromisoformat,
        nargs=2,
        metavar=("FIRST", "LAST"),
        help="instead of --ds: a backfill of these days, --max-active-runs at once",
    )
    p.add_argument("--max-active-runs", type=int, default=2)
    p.add_argument("--conf", default=None, help="the backfill runs' conf (JSON)")
    p.add_argument("--timeout-s", type=float, default=4 * 3600)
    p.add_argument("--json", action="store_true", help="print the outcomes as one JSON line")
    a = p.parse_args(argv)
    try:
        if a.backfill:
            first, last = a.backfill
            days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
            wait_parsed(a.dag_id)
            backfill(a.dag_id, first, last, a.max_active_runs, json.loads(a.conf) if a.conf else None)
            unpause(a.dag_id)
            runs = [wait_runs(a.dag_id, days, a.timeout_s)[d] for d in days]
        else:
            runs = [run_day(a.dag_id, a.ds or latest_interval(), a.timeout_s)]
    except CtrflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if a.json:
        print(json.dumps([outcome_json(r) for r in runs]))
    else:
        for run in runs:
            print(f"\n{a.dag_id} {table(run)}")
    return 0 if all(r.state == "success" for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
