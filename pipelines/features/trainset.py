"""What a trainer reads from the features job: the pipeline's feature map and the days of a training split.

Shared by train_gbdt_lr and train_ctr (`open_split`): the days before --ds (up to train_days) that have
rows in feat.<pipeline> at a pinned Delta version train the model, --ds itself validates it. The feature
map is that of the pipeline version as of --ds (artifacts.version_as_of), so retraining an old day
after a newer fit reads the map the day's features were written with.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pipelines.common import tables
from pipelines.core.errors import DataError
from pipelines.features import artifacts, flow
from pipelines.features.feature_map import FeatureMap

log = logging.getLogger("ctrflow")


def load_feature_map(spark, settings, pipeline: str, ds: dt.date | None = None) -> FeatureMap:
    """The feature map of the version as of ds; without ds, of the current version."""
    if ds is None:
        path = f"{artifacts.pipeline_dir(settings, pipeline)}/feature_map.json"
    else:
        path = artifacts.feature_map_path(settings, pipeline, artifacts.version_as_of(settings, pipeline, ds))
    text = artifacts.read_text(path)
    if text is None:
        raise DataError(f"no feature map at {path}: run `features --pipeline {pipeline} --fit` first")
    return FeatureMap.from_json(text)


def training_days(
    spark, feat: str, version: int | None, ds: dt.date, train_days: int, min_days: int, min_days_key: str
) -> list[dt.date]:
    """The days before ds (up to train_days) that have rows; ds itself must have rows, and at least
    min_days days must (`min_days_key` names the setting in the error)."""
    window = [ds - dt.timedelta(days=i) for i in range(train_days, 0, -1)]
    present = {r["ds"] for r in flow.read_days(spark, feat, [*window, ds], version).select("ds").distinct().collect()}
    if ds.isoformat() not in present:
        raise DataError(f"{feat} has no rows for the validation day ds={ds} (run the features job for it)")
    days = [d for d in window if d.isoformat() in present]
    if len(days) < min_days:
        raise DataError(
            f"{feat} has {len(days)} of the {train_days} training days before {ds} "
            f"({window[0]}..{window[-1]}); {min_days_key} is {min_days}"
        )
    if len(days) < train_days:
        log.warning("training on %d of %d days: %s", len(days), train_days, ", ".join(map(str, days)))
    return days


@dataclass(frozen=True)
class TrainSplit:
    table: str  # feat.<pipeline>
    feature_map: FeatureMap
    version: int  # the Delta version every read is pinned to
    days: list[dt.date]  # the training days
    ds: dt.date  # the validation day

    def read(self, spark, days: list[dt.date] | None = None):
        """The training days (or `days`) of the table at the pinned version."""
        return flow.read_days(spark, self.table, self.days if days is None else days, self.version)

    @property
    def inputs(self) -> dict:
        """The registry's lineage of a model trained on the split."""
        return {self.table: self.version, "feature_pipeline_version": self.feature_map.version}

    @property
    def described(self) -> str:
        return f"{self.table} (Delta version {self.version})"


def open_split(
    spark,
    settings,
    pipeline: str,
    ds: dt.date,
    train_days: int,
    min_days: int,
    min_days_key: str,
    columns: Callable[[FeatureMap], list[str]],
) -> TrainSplit:
    """feat.<pipeline> checked (it exists and has the `columns` the feature map as of ds needs) and pinned
    to its current Delta version, with the training days before ds (`training_days`)."""
    feat = flow.feat_table(settings, pipeline)
    if not tables.table_exists(spark, feat):
        raise DataError(f"feature table {feat} does not exist: run `features --pipeline {pipeline}` first")
    version = tables.delta_version(spark, feat)
    days = training_days(spark, feat, version, ds, train_days, min_days, min_days_key)
    fm = load_feature_map(spark, settings, pipeline, ds)
    present = spark.table(feat).columns
    missing = [c for c in columns(fm) if c not in present]
    if missing:
        raise DataError(
            f"{feat} lacks columns {missing} of its feature map version {fm.version}: "
            f"rerun the features job for the days used"
        )
    return TrainSplit(feat, fm, version, days, ds)
