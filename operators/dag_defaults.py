"""What the DAG files share: the parse-time settings (dags.yml) and the task defaults built from them.

The env is $CTRFLOW_ENV (default local) and $CTRFLOW_DAG_OVERRIDES (`key=value` items separated by
whitespace) adds overrides at parse time; a run's conf adds more at run time (operators/run_conf.py).
Only YAML is read here: parsing a DAG file stays cheap.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from typing import Any

from operators.callbacks import log_failure


def parse_env() -> tuple[str, list[str]]:
    from pipelines.common.config import DEFAULT_ENV

    return os.environ.get("CTRFLOW_ENV", DEFAULT_ENV), shlex.split(os.environ.get("CTRFLOW_DAG_OVERRIDES", ""))


def parse_settings():
    from pipelines.common.config import load

    env, overrides = parse_env()
    return load(env, overrides).settings


def default_args(settings) -> dict[str, Any]:
    d = settings.dags.defaults
    return {
        "owner": "ctrflow",
        "retries": d.retries,
        "retry_delay": dt.timedelta(seconds=d.retry_delay_s),
        "retry_exponential_backoff": d.retry_exponential_backoff,
        "execution_timeout": dt.timedelta(seconds=d.execution_timeout_s),
        "on_failure_callback": log_failure,
        "on_retry_callback": log_failure,
    }


def dag_kwargs(settings, cfg) -> dict[str, Any]:
    """The arguments of DAG(...) that come from the DAG's dags.yml section `cfg` (schedule, start_date,
    catchup, max_active_runs, dagrun_timeout_s) and the shared defaults; the DAG file adds its id,
    description, doc and tags. On an embedded Derby metastore (one JVM at a time) a run's tasks go one at a
    time, with one run at a time: parallel trainers need a shared metastore (`metastore: jdbc`)."""
    derby = settings.spark.profiles[settings.dags.spark_profile or settings.spark.profile].metastore == "embedded_derby"
    return {
        "max_active_tasks": 1 if derby else 16,
        "schedule": schedule(cfg.schedule),
        "start_date": start(cfg.start_date),
        "catchup": cfg.catchup,
        "max_active_runs": 1 if derby else cfg.max_active_runs,
        "dagrun_timeout": dt.timedelta(seconds=cfg.dagrun_timeout_s),
        "default_args": default_args(settings),
        "on_failure_callback": log_failure,
    }


def job_kwargs(settings) -> dict[str, Any]:
    """Keyword arguments every SparkJobOperator of a DAG gets."""
    env, overrides = parse_env()
    return {
        "env": env,
        "overrides": overrides,
        "profile": settings.dags.spark_profile,
        "conn_id": settings.dags.conn_id,
        "spark_submit": settings.dags.spark_submit,
    }


def schedule(cron: str | None):
    """A cron schedule as a data-interval timetable (UTC): the run that starts at midnight processes the day
    that has just closed, `{{ ds }}` = that day. Airflow 3's default for a cron string is a trigger
    timetable, whose midnight run would be named after the day that has only begun."""
    if cron is None:
        return None
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable(cron, timezone="UTC")


def start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
