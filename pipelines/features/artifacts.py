"""Where a feature pipeline's fitted versions live, and small text files on any Hadoop path.

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

from pipelines.common.tables import hadoop_fs
from pipelines.core.errors import DataError
from pipelines.features.stats import FeatureStats


def pipeline_dir(settings, pipeline: str) -> str:
    return settings.project.path("features", pipeline)


def version_dir(settings, pipeline: str, version: str) -> str:
    return f"{pipeline_dir(settings, pipeline)}/{version}"


def write_text(spark, path: str, text: str) -> None:
    fs, p = hadoop_fs(spark, path)
    tmp = p.suffix(".tmp")
    out = fs.create(tmp, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()
    if fs.exists(p):
        fs.delete(p, False)
    if not fs.rename(tmp, p):
        raise DataError(f"could not write {path}")


def read_text(spark, path: str) -> str | None:
    fs, p = hadoop_fs(spark, path)
    if not fs.exists(p):
        return None
    stream = fs.open(p)
    try:
        jvm = spark.sparkContext._jvm
        return jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()


def write_json(spark, path: str, doc: Any) -> None:
    write_text(spark, path, json.dumps(doc, indent=2, default=str))


def read_json(spark, path: str) -> Any:
    text = read_text(spark, path)
    return None if text is None else json.loads(text)


def current_version(spark, settings, pipeline: str) -> str | None:
    text = read_text(spark, f"{pipeline_dir(settings, pipeline)}/CURRENT")
    return text.strip() if text else None


def stats_to_json(stats: list[FeatureStats]) -> list[dict]:
    return [asdict(s) for s in stats]


def train_stats(spark, settings, pipeline: str, version: str) -> list[FeatureStats]:
    doc = read_json(spark, f"{version_dir(settings, pipeline, version)}/train_stats.json")
    if doc is None:
        raise DataError(f"no training statistics for {pipeline} version {version}")
    return [FeatureStats(**d) for d in doc]
