"""Tiny feature tables for tests: the feature map of indexed categorical and imputed numeric fields,
random columns of that shape, and clicks drawn from a planted logit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.features.feature_map import FeatureMap, Field


def indexed_feature_map(
    cats: list[str], nums: list[str], vocab: int, *, pipeline: str, version: str, table: str
) -> FeatureMap:
    """`cats` indexed into `vocab` values each (global offsets one after the other), `nums` imputed
    doubles, label `label`: what the features job records for such a table."""
    fields = [
        Field(
            name=c,
            kind="categorical",
            dtype="int",
            stage="idx",
            stage_type="index",
            inputs=[c],
            vocab_size=vocab,
            offset=i * vocab,
        )
        for i, c in enumerate(cats)
    ]
    fields += [
        Field(name=c, kind="numeric", dtype="double", stage="num", stage_type="impute", inputs=[c]) for c in nums
    ]
    return FeatureMap(
        pipeline=pipeline,
        version=version,
        table=table,
        label="label",
        fields=fields,
        total_vocab_size=vocab * len(cats),
    )


def random_features(rng: np.random.Generator, rows: int, cats: list[str], nums: list[str], vocab: int) -> pd.DataFrame:
    """Uniform local indices (int32) for `cats`, then standard normal doubles for `nums`."""
    df = pd.DataFrame({c: rng.integers(0, vocab, rows).astype(np.int32) for c in cats})
    for c in nums:
        df[c] = rng.normal(size=rows)
    return df


def clicks(rng: np.random.Generator, logit):
    """int32 labels, each 1 with probability sigmoid(logit)."""
    return (rng.random(len(logit)) < 1 / (1 + np.exp(-logit))).astype(np.int32)


def publish_feature_version(settings, fm: FeatureMap, ds) -> None:
    """What the features job leaves for a version of `fm` fitted for `ds`: its directory (metadata with
    the fit's day, feature map, training statistics), then the pipeline's feature map and CURRENT."""
    from pipelines.common import storage
    from pipelines.features import artifacts

    vdir = artifacts.version_dir(settings, fm.pipeline, fm.version)
    artifacts.write_json(f"{vdir}/metadata.json", {"pipeline": fm.pipeline, "version": fm.version, "ds": str(ds)})
    storage.write_text(f"{vdir}/feature_map.json", fm.to_json())
    artifacts.write_json(f"{vdir}/train_stats.json", [])
    storage.write_text(f"{artifacts.pipeline_dir(settings, fm.pipeline)}/feature_map.json", fm.to_json())
    storage.write_text(f"{artifacts.pipeline_dir(settings, fm.pipeline)}/CURRENT", fm.version)
