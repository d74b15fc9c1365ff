"""ctr_daily: one day of CTR training, from the raw source to batch scores.

    wait_for_<source> -> ingest -> features -> train_gbdt_lr, train_<deep model>... (in parallel)
      -> evaluate (data-quality check) -> <model>.gate -> <model>.publish | <model>.skip_publish -> <model>.score

Every task reads and writes the partitions of the run's `{{ ds }}` only, and each job replaces its output
atomically, so retries, clears and backfills are safe. Schedule, source, pipeline, models, thresholds
and retries: conf/base/dags.yml (`ctr_daily`, `defaults`).
"""

from __future__ import annotations

from airflow.sdk import DAG, TaskGroup, TriggerRule

from operators.dag_defaults import dag_kwargs, job_kwargs, parse_settings
from operators.data_quality import DataQualityOperator
from operators.gate import gate_and_publish
from operators.sensors import SourcePartitionSensor
from operators.spark_job import SparkJobOperator

settings = parse_settings()
cfg = settings.dags.ctr_daily
jobs = job_kwargs(settings)
context_kwargs = {"env": jobs["env"], "overrides": jobs["overrides"]}

with DAG(
    dag_id="ctr_daily",
    description="ingest -> features -> GBDT+LR and deep CTR training -> quality -> gate -> publish -> score",
    doc_md=__doc__,
    tags=["ctrflow", "ctr"],
    **dag_kwargs(settings, cfg),
) as dag:
    wait = SourcePartitionSensor(
        task_id=f"wait_for_{cfg.source}",
        source=cfg.source,
        mode=cfg.sensor.mode,
        deferrable=cfg.sensor.deferrable,
        poke_interval=cfg.sensor.poke_interval_s,
        timeout=cfg.sensor.timeout_s,
        **context_kwargs,
    )
    ingest = SparkJobOperator(task_id="ingest", job="ingest", args=["--source", cfg.source], **jobs)
    features = SparkJobOperator(
        task_id="features",
        job="features",
        args=["--pipeline", cfg.pipeline, *(["--fit"] if cfg.fit_features else [])],
        **jobs,
    )
    evaluate = DataQualityOperator(
        task_id="evaluate",
        source=cfg.source,
        pipeline=cfg.pipeline,
        max_quarantine_fraction=cfg.quality.max_quarantine_fraction,
        max_psi=cfg.quality.max_psi,
        max_drifted_features=cfg.quality.max_drifted_features,
        **context_kwargs,
    )
    wait >> ingest >> features

    models: list[tuple[str, str]] = []  # (registry name, its training task: its XCom names the candidate)
    # one key, dags.ctr_daily.pipeline, names the features every model of the DAG trains on: the trainers
    # get it as their own pipeline key, so what `features` built is what they read
    trains_on = {k: [*jobs["overrides"], f"{k}.pipeline={cfg.pipeline}"] for k in ("gbdt", "ctr")}
    if cfg.gbdt_lr:
        (
            features
            >> SparkJobOperator(
                task_id="train_gbdt_lr", job="train_gbdt_lr", **{**jobs, "overrides": trains_on["gbdt"]}
            )
            >> evaluate
        )
        models.append((settings.gbdt.model_name, "train_gbdt_lr"))
    for name in cfg.deep_models:
        (
            features
            >> SparkJobOperator(
                task_id=f"train_{name}",
                job="train_ctr",
                args=["--model", name],
                **{**jobs, "overrides": trains_on["ctr"]},
            )
            >> evaluate
        )
        models.append((name, f"train_{name}"))

    for name, train_task in models:
        with TaskGroup(group_id=name):
            gate, publish, skip = gate_and_publish(name, train_task, jobs)
            score = SparkJobOperator(
                task_id="score",
                job="score",
                args=["--model", name],
                trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
                **jobs,
            )
            evaluate >> gate >> [publish, skip] >> score
