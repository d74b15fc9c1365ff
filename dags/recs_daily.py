"""recs_daily: recall -> rank. Candidates from the Faiss index, ranked by the CTR model, checked, published.

    wait_for_features (feat.<recs.pipeline> ds) + wait_for_index (recs.index) + wait_for_ranker (recs.ranker)
      -> embed_users (the two-tower champion's user tower over the day's users)
      -> retrieve (recs.candidates per user from the index champion into out.candidates)
      -> candidate_features (each pair's user and item rows as of ds, encoded by the fitted pipeline)
      -> rank (the ranker champion's top recs.k per user into out.recs_ranked)
      -> check_recs (coverage, diversity, hit rate of the day's clicks vs the ANN order: out.recs_quality)
      -> publish_recs (out.recs_ranked's day into out.recs, only when the check passed)

Driven by `{{ ds }}`: every job reads and replaces that day's partitions only. Tables, models and k:
conf/base/recs.yml; schedule and sensors: conf/base/dags.yml `recs_daily`. See docs/recs.md.
"""

from __future__ import annotations

from airflow.sdk import DAG

from operators.dag_defaults import dag_kwargs, job_kwargs, parse_settings
from operators.sensors import ChampionSensor, TablePartitionSensor
from operators.spark_job import SparkJobOperator
from pipelines.common import table_names

settings = parse_settings()
cfg, recs = settings.dags.recs_daily, settings.recs
jobs = job_kwargs(settings)
wait_kwargs = {
    "mode": cfg.sensor.mode,
    "deferrable": cfg.sensor.deferrable,
    "poke_interval": cfg.sensor.poke_interval_s,
    "timeout": cfg.sensor.timeout_s,
    "env": jobs["env"],
    "overrides": jobs["overrides"],
}

with DAG(
    dag_id="recs_daily",
    description="two-tower retrieval -> candidate features -> CTR ranking -> check -> publish",
    doc_md=__doc__,
    tags=["ctrflow", "recs"],
    **dag_kwargs(settings, cfg),
) as dag:
    waits = [
        TablePartitionSensor(
            task_id="wait_for_features", table=table_names.features(settings, recs.pipeline), **wait_kwargs
        ),
        ChampionSensor(task_id="wait_for_index", model=recs.index, **wait_kwargs),
        ChampionSensor(task_id="wait_for_ranker", model=recs.ranker, **wait_kwargs),
    ]
    embed = SparkJobOperator(
        task_id="embed_users", job="embed", args=["--model", recs.embedding_model, "--tower", "user"], **jobs
    )
    queries = table_names.embeddings(settings, recs.embedding_model, "user")
    retrieve = SparkJobOperator(
        task_id="retrieve",
        job="retrieve",
        args=["--index", recs.index, "--queries", queries, "--k", str(recs.candidates)],
        **jobs,
    )
    features = SparkJobOperator(
        task_id="candidate_features", job="candidate_features", args=["--index", recs.index], **jobs
    )
    rank = SparkJobOperator(task_id="rank", job="rank", args=["--index", recs.index], **jobs)
    check = SparkJobOperator(task_id="check_recs", job="check_recs", args=["--index", recs.index], **jobs)
    publish = SparkJobOperator(task_id="publish_recs", job="publish_recs", args=["--index", recs.index], **jobs)
    waits >> embed >> retrieve >> features >> rank >> check >> publish
