"""ann_weekly: retrain the two-tower model, index its item embeddings, retrieve candidates.

    wait_for_features (the day's partition of feat.<ctr.pipeline>, which ctr_daily builds)
      -> train_<model> (train_ctr; a two-tower model also writes its item/user embeddings for ds)
      -> build_index (Faiss, registered under the index name)
      -> <index>.gate (recall@k vs the champion) -> <index>.publish | <index>.skip_publish
      -> retrieve (top-k of the champion index into out.candidates)

Driven by `{{ ds }}`: every job reads and replaces that day's partitions only. Schedule, model, tables,
index name and k: conf/base/dags.yml (`ann_weekly`, `defaults`).
"""

from __future__ import annotations

from airflow.sdk import DAG, TaskGroup, TriggerRule

from operators.dag_defaults import dag_kwargs, job_kwargs, parse_settings
from operators.gate import gate_and_publish
from operators.sensors import TablePartitionSensor
from operators.spark_job import SparkJobOperator
from pipelines.common import table_names

settings = parse_settings()
cfg = settings.dags.ann_weekly
jobs = job_kwargs(settings)

with DAG(
    dag_id="ann_weekly",
    description="two-tower training -> Faiss index build -> batch retrieval",
    doc_md=__doc__,
    tags=["ctrflow", "ann"],
    **dag_kwargs(settings, cfg),
) as dag:
    wait = TablePartitionSensor(
        task_id="wait_for_features",
        table=table_names.features(settings, settings.ctr.pipeline),
        mode=cfg.sensor.mode,
        deferrable=cfg.sensor.deferrable,
        poke_interval=cfg.sensor.poke_interval_s,
        timeout=cfg.sensor.timeout_s,
        env=jobs["env"],
        overrides=jobs["overrides"],
    )
    train = SparkJobOperator(task_id=f"train_{cfg.model}", job="train_ctr", args=["--model", cfg.model], **jobs)
    items = cfg.embeddings or table_names.embeddings(settings, cfg.model, "item")
    users = cfg.queries or table_names.embeddings(settings, cfg.model, "user")
    # the index is promoted like ctr_daily's models: built and registered, then the gate (recall@k against the
    # champion on the same queries) and publish tasks; retrieval searches the champion
    build = SparkJobOperator(
        task_id="build_index",
        job="build_index",
        args=["--embeddings", items, "--name", cfg.index],
        **{**jobs, "overrides": [*jobs["overrides"], "ann.publish=false"]},
    )
    with TaskGroup(group_id=cfg.index):
        gate, publish, skip = gate_and_publish(cfg.index, "build_index", jobs, metric="recall_at_k")
    retrieve = SparkJobOperator(
        task_id="retrieve",
        job="retrieve",
        args=["--index", cfg.index, "--queries", users, "--k", str(cfg.k)],
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        **jobs,
    )
    wait >> train >> build >> gate
    [publish, skip] >> retrieve
