"""Test DAG: an ingest whose first try fails (a source with no files for the day: exit 1, retried) and whose
retry ingests the real source for the same day again. Used to check that a retry replaces, not appends."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from operators.dag_defaults import parse_env
from operators.spark_job import SparkJobOperator

env, overrides = parse_env()  # the test's state_dir and Spark settings: a run's conf may not set them

with DAG(
    dag_id="ctrflow_ingest_retry",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    default_args={"retries": 1, "retry_delay": dt.timedelta(0)},
):
    SparkJobOperator(
        task_id="ingest",
        job="ingest",
        env=env,
        overrides=overrides,
        args=["--source", "{{ 'criteo_tsv' if ti.try_number == 1 else 'click_logs' }}"],
    )
