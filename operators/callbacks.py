"""Failure callbacks: one clear summary of what failed, where, on which try, and why."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("ctrflow.airflow")


def _first_line(exc: Any) -> str:
    text = str(exc or "").strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__ if exc else "no exception recorded"


def failure_summary(context: Any) -> str:
    """`ctr_daily.ingest ds=2026-11-01 failed (try 1 of 3, will retry): <first line of the error>`."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", "?")
    ds = context.get("ds") or "?"
    if ti is None:  # a DAG-level callback
        reason = context.get("reason") or "failed"
        return f"{dag_id} run {getattr(dag_run, 'run_id', '?')} ds={ds} {reason}"
    task = getattr(ti, "task", None)
    retries = getattr(task, "retries", 0) or 0
    tries = getattr(ti, "try_number", 1) or 1
    outcome = "will retry" if tries <= retries else "no retries left"
    return (
        f"{dag_id}.{ti.task_id} ds={ds} failed (try {tries} of {retries + 1}, {outcome}): "
        f"{_first_line(context.get('exception'))}"
    )


def log_failure(context: Any) -> None:
    """on_failure_callback of ctrflow tasks and DAGs."""
    log.error("%s", failure_summary(context))
