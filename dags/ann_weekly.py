"""ann_weekly: retrain the two-tower model, index its item embeddings, retrieve candidates.

    train_<model> (train_ctr; a two-tower model also writes its item/user embeddings for ds)
      -> build_index (Faiss, registered and published under the index name) -> retrieve (top-k into out.candidates)

Driven by `{{ ds }}`: every job reads and replaces that day's partitions only. Schedule, model, tables,
index name and k: conf/base/dags.yml (`ann_weekly`, `defaults`).
"""

from __future__ import annotations

from airflow.sdk import DAG

from operators.dag_defaults import dag_kwargs, job_kwargs, parse_settings
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
    train = SparkJobOperator(task_id=f"train_{cfg.model}", job="train_ctr", args=["--model", cfg.model], **jobs)
    items = cfg.embeddings or table_names.embeddings(settings, cfg.model, "item")
    users = cfg.queries or table_names.embeddings(settings, cfg.model, "user")
    build = SparkJobOperator(
        task_id="build_index", job="build_index", args=["--embeddings", items, "--name", cfg.index], **jobs
    )
    retrieve = SparkJobOperator(
        task_id="retrieve", job="retrieve", args=["--index", cfg.index, "--queries", users, "--k", str(cfg.k)], **jobs
    )
    train >> build >> retrieve
