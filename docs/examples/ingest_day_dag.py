"""ingest_day: wait for a source's day, ingest it, build its features (docs/adding-a-dag.md)."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from operators.dag_defaults import default_args, job_kwargs, parse_settings, start
from operators.sensors import SourcePartitionSensor
from operators.spark_job import SparkJobOperator

settings = parse_settings()  # conf/ as YAML only: cheap at every parse
jobs = job_kwargs(settings)  # env, overrides, Spark profile and connection of conf/base/dags.yml

with DAG(
    dag_id="ingest_day",
    schedule="@daily",
    start_date=start(dt.date(2026, 11, 1)),
    catchup=False,
    default_args=default_args(settings),  # retries, timeouts, failure summary callback
    tags=["ctrflow", "example"],
) as dag:
    wait = SourcePartitionSensor(
        task_id="wait_for_click_logs", source="click_logs", env=jobs["env"], overrides=jobs["overrides"]
    )
    ingest = SparkJobOperator(task_id="ingest", job="ingest", args=["--source", "click_logs"], **jobs)
    features = SparkJobOperator(task_id="features", job="features", args=["--pipeline", "ctr_default"], **jobs)
    wait >> ingest >> features
