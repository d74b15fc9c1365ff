"""What a trainer reads from the features job: the pipeline's feature map and the days of a training split.

Shared by train_gbdt_lr and train_ctr: the days before --ds (up to train_days) that have rows in
feat.<pipeline> at a pinned Delta version train the model, --ds itself validates it.
"""

from __future__ import annotations

import datetime as dt
import logging

from pipelines.common.errors import DataError
from pipelines.features import artifacts, flow
from pipelines.features.feature_map import FeatureMap

log = logging.getLogger("ctrflow")


def load_feature_map(spark, settings, pipeline: str) -> FeatureMap:
    path = f"{artifacts.pipeline_dir(settings, pipeline)}/feature_map.json"
    text = artifacts.read_text(spark, path)
    if text is None:
        raise DataError(f"no feature map at {path}: run `features --pipeline {pipeline} --fit` first")
    return FeatureMap.from_json(text)


def training_days(spark, feat: str, version: int | None, ds: dt.date, train_days: int, min_days: int,
                  min_days_key: str) -> list[dt.date]:
    """The days before ds (up to train_days) that have rows; ds itself must have rows, and at least
    min_days days must (`min_days_key` names the setting in the error)."""
    window = [ds - dt.timedelta(days=i) for i in range(train_days, 0, -1)]
    present = {r["ds"] for r in flow.read_days(spark, feat, [*window, ds], version).select("ds").distinct().collect()}
    if ds.isoformat() not in present:
        raise DataError(f"{feat} has no rows for the validation day ds={ds} (run the features job for it)")
    days = [d for d in window if d.isoformat() in present]
    if len(days) < min_days:
        raise DataError(f"{feat} has {len(days)} of the {train_days} training days before {ds} "
                        f"({window[0]}..{window[-1]}); {min_days_key} is {min_days}")
    if len(days) < train_days:
        log.warning("training on %d of %d days: %s", len(days), train_days, ", ".join(map(str, days)))
    return days
