"""Where a feature pipeline's fitted versions live, and their small files (pipelines.common.storage).

<state>/features/<pipeline>/
    CURRENT                 the version fitted for the newest day (written last: moving it publishes a version)
    feature_map.json        the current version's feature map
    <version>/model/        the fitted PipelineModel
    <version>/metadata.json the fit's ds, input table + Delta versions, window days, config hash, created time
    <version>/feature_map.json
    <version>/train_stats.json  per-feature statistics of the training window (the drift baseline)

A version is published once its train_stats.json is written (then CURRENT may move). What a job of a
day uses is `version_as_of(ds)`, not CURRENT: the version fitted for the greatest day on or before ds,
so a rerun of an old day after a newer fit still gets the version it got then.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any, NamedTuple

from pipelines.common import storage
from pipelines.core.days import iso_day
from pipelines.core.errors import DataError
from pipelines.features.stats import FeatureStats


def pipeline_dir(settings, pipeline: str) -> str:
    return settings.project.path("features", pipeline)


def version_dir(settings, pipeline: str, version: str) -> str:
    return f"{pipeline_dir(settings, pipeline)}/{version}"


def read_text(path: str) -> str | None:
    """The file's text; None when there is none."""
    return storage.read_text(path) if storage.exists(path) else None


def write_json(path: str, doc: Any) -> None:
    storage.write_json(path, doc, default=str)


def read_json(path: str) -> Any:
    text = read_text(path)
    return None if text is None else json.loads(text)


def current_version(settings, pipeline: str) -> str | None:
    text = read_text(f"{pipeline_dir(settings, pipeline)}/CURRENT")
    return text.strip() if text else None


class FittedVersion(NamedTuple):
    version: str
    ds: str | None  # the day it was fitted for (None: unknown)
    created: str


def fit_day(metadata: dict) -> str | None:
    """The day a version was fitted for: metadata's `ds`; for versions fitted before `ds` was recorded,
    the last day of their training window (a fit's window ends on its --ds); None when neither is there."""
    window = metadata.get("window") or [None]
    return metadata.get("ds") or window[-1]


def fitted_versions(settings, pipeline: str) -> list[FittedVersion]:
    """Every published version (metadata.json and train_stats.json written: a fit that died before its
    statistics was never current) with its fit day, in version-name order."""
    base = pipeline_dir(settings, pipeline)
    out = []
    for name in storage.list_dirs(base):
        if not storage.exists(f"{base}/{name}/train_stats.json"):
            continue
        meta = read_json(f"{base}/{name}/metadata.json")
        if isinstance(meta, dict):
            out.append(FittedVersion(name, fit_day(meta), str(meta.get("created", ""))))
    return out


def _latest(versions: list[FittedVersion]) -> FittedVersion:
    """The one fitted for the greatest day; of a day's refits, the last created."""
    return max(versions, key=lambda v: (v.ds, v.created, v.version))


def newest_version(settings, pipeline: str) -> str | None:
    """The version fitted for the newest day (what CURRENT names); None when there is none with a known day."""
    known = [v for v in fitted_versions(settings, pipeline) if v.ds is not None]
    return _latest(known).version if known else None


def version_as_of(settings, pipeline: str, ds: dt.date | str) -> str:
    """The version that was current on ds: of the published versions, the one fitted for the greatest day
    on or before ds (a day's refits: the last created). Versions of an unknown day are never chosen. No
    such version is a DataError naming the pipeline, the day and the versions with their days: a day
    before the first fit is not transformed with a version fitted on later days."""
    day = iso_day(ds)
    fitted = fitted_versions(settings, pipeline)
    usable = [v for v in fitted if v.ds is not None and v.ds <= day]
    if usable:
        return _latest(usable).version
    if not fitted:
        raise DataError(
            f"pipeline '{pipeline}' has no fitted version under {pipeline_dir(settings, pipeline)}: "
            f"run `features --pipeline {pipeline} --fit` first"
        )
    listed = ", ".join(f"{v.version} (fitted for {v.ds or 'an unknown day'})" for v in fitted)
    raise DataError(
        f"pipeline '{pipeline}' has no version fitted on or before {day} (versions: {listed}): "
        f"run `features --pipeline {pipeline} --fit` for a day up to {day}"
    )


def feature_map_path(settings, pipeline: str, version: str) -> str:
    return f"{version_dir(settings, pipeline, version)}/feature_map.json"


def stats_to_json(stats: list[FeatureStats]) -> list[dict]:
    return [asdict(s) for s in stats]


def train_stats(settings, pipeline: str, version: str) -> list[FeatureStats]:
    doc = read_json(f"{version_dir(settings, pipeline, version)}/train_stats.json")
    if doc is None:
        raise DataError(f"no training statistics for {pipeline} version {version}")
    return [FeatureStats(**d) for d in doc]
