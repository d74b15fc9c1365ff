"""Where a feature pipeline's fitted versions live, and their small files (pipelines.common.storage).

<state>/features/<pipeline>/
    CURRENT                 the current version (written last: moving it publishes a version)
    feature_map.json        the current version's feature map (what trainers read)
    <version>/model/        the fitted PipelineModel
    <version>/metadata.json input table + Delta versions, window days, config hash, created time
    <version>/feature_map.json
    <version>/train_stats.json  per-feature statistics of the training window (the drift baseline)
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from pipelines.common import storage
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


def stats_to_json(stats: list[FeatureStats]) -> list[dict]:
    return [asdict(s) for s in stats]


def train_stats(settings, pipeline: str, version: str) -> list[FeatureStats]:
    doc = read_json(f"{version_dir(settings, pipeline, version)}/train_stats.json")
    if doc is None:
        raise DataError(f"no training statistics for {pipeline} version {version}")
    return [FeatureStats(**d) for d in doc]
