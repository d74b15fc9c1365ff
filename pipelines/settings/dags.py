"""conf/base/dags.yml: what the Airflow DAGs of dags/ run, when, and how hard they retry.

Only data here (no Airflow import): the DAG files read it at parse time through `config.load`, the
operators read it again at run time with the run's overrides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from pipelines.core.names import Name, TableName


@dataclass(frozen=True, kw_only=True)
class TaskDefaults:
    """Airflow task defaults of every DAG (seconds)."""

    retries: int = 2
    retry_delay_s: int = 300
    retry_exponential_backoff: bool = False
    execution_timeout_s: int = 4 * 3600

    def validate(self) -> None:
        if self.retries < 0 or self.retry_delay_s < 0 or self.execution_timeout_s <= 0:
            raise ValueError("retries and retry_delay_s must be >= 0 and execution_timeout_s > 0")


@dataclass(frozen=True, kw_only=True)
class SensorSettings:
    """How the partition sensor waits for the source's day."""

    poke_interval_s: int = 300
    timeout_s: int = 6 * 3600
    mode: Literal["reschedule", "poke"] = "reschedule"  # reschedule frees the worker slot between pokes
    deferrable: bool = False  # wait in the triggerer instead (needs `airflow triggerer` running)


@dataclass(frozen=True, kw_only=True)
class QualitySettings:
    """Thresholds of the data-quality check between features and training (fail above them)."""

    max_quarantine_fraction: float = 0.01  # quarantined / input rows of the day's ingest
    max_psi: float = 0.25  # population stability index of a feature against the training window
    max_drifted_features: int = 0  # how many features may exceed max_psi before the check fails

    def validate(self) -> None:
        if not 0 <= self.max_quarantine_fraction <= 1:
            raise ValueError(f"max_quarantine_fraction must be in [0, 1], got {self.max_quarantine_fraction}")
        if self.max_psi < 0 or self.max_drifted_features < 0:
            raise ValueError("max_psi and max_drifted_features must be >= 0")


@dataclass(frozen=True, kw_only=True)
class CtrDailySettings:
    """dag ctr_daily: sensor -> ingest -> features -> training -> quality -> gate -> publish -> score."""

    schedule: str | None = "@daily"
    start_date: dt.date = dt.date(2026, 11, 1)
    catchup: bool = False
    max_active_runs: int = 1
    dagrun_timeout_s: int = 12 * 3600
    source: Name = "click_logs"
    pipeline: Name = "ctr_default"
    fit_features: bool = False  # refit the feature pipeline every run (else the version as of the run's day is used)
    gbdt_lr: bool = True  # train, gate, publish and score the GBDT+LR model (gbdt.model_name)
    deep_models: list[Name] = field(default_factory=list)  # train_ctr --model <name> for each
    sensor: SensorSettings = field(default_factory=SensorSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)

    def validate(self) -> None:
        if not self.gbdt_lr and not self.deep_models:
            raise ValueError("nothing to train: set gbdt_lr true or list deep_models")
        if len(set(self.deep_models)) != len(self.deep_models):
            raise ValueError(f"deep_models lists a model twice: {self.deep_models}")


@dataclass(frozen=True, kw_only=True)
class AnnWeeklySettings:
    """dag ann_weekly: train the two-tower model (it exports embeddings) -> build_index -> retrieve."""

    schedule: str | None = "@weekly"
    start_date: dt.date = dt.date(2026, 11, 1)
    catchup: bool = False
    max_active_runs: int = 1
    dagrun_timeout_s: int = 24 * 3600
    model: Name = "two_tower"
    embeddings: TableName | None = None  # None: what train_ctr writes, out.<model>_item_embeddings
    queries: TableName | None = None  # None: out.<model>_user_embeddings (pipelines.common.table_names)
    index: Name = "items_two_tower"
    k: int = 100
    sensor: SensorSettings = field(default_factory=SensorSettings)  # waiting for feat.<ctr.pipeline>'s ds

    def validate(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be positive, got {self.k}")


@dataclass(frozen=True, kw_only=True)
class RecsDailySettings:
    """dag recs_daily: wait for the index, the ranker and the day's features -> embed the day's users ->
    retrieve -> candidate features -> rank -> check -> publish. Tables, models and k: conf/base/recs.yml."""

    schedule: str | None = "@daily"
    start_date: dt.date = dt.date(2026, 11, 1)
    catchup: bool = False
    max_active_runs: int = 1
    dagrun_timeout_s: int = 12 * 3600
    sensor: SensorSettings = field(default_factory=SensorSettings)  # features, index and ranker


@dataclass(frozen=True, kw_only=True)
class DagsSettings:
    """conf/base/dags.yml. `spark_profile` null = spark.profile; `conn_id` names an Airflow Spark connection
    whose master (and deploy mode, queue) override the profile's, e.g. on a cluster."""

    spark_profile: str | None = None
    conn_id: str | None = None
    spark_submit: str | None = None  # null: the spark-submit beside the running Python, else on PATH
    defaults: TaskDefaults = field(default_factory=TaskDefaults)
    ctr_daily: CtrDailySettings = field(default_factory=CtrDailySettings)
    ann_weekly: AnnWeeklySettings = field(default_factory=AnnWeeklySettings)
    recs_daily: RecsDailySettings = field(default_factory=RecsDailySettings)
