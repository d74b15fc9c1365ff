"""Tiny CTR data with a planted signal, as numpy arrays and as a feature spec / feature map."""

from __future__ import annotations

import numpy as np

from pipelines.ctr.models import FeatureSpec
from pipelines.features.feature_map import FeatureMap, Field

CATS, NUMS, VOCAB = ["u_idx", "c_idx", "it_idx"], ["n1", "n2"], 10


def feature_map(table: str = "feat.tiny") -> FeatureMap:
    fields = [
        Field(
            name=c,
            kind="categorical",
            dtype="int",
            stage="idx",
            stage_type="index",
            inputs=[c],
            vocab_size=VOCAB,
            offset=i * VOCAB,
        )
        for i, c in enumerate(CATS)
    ]
    fields += [
        Field(name=c, kind="numeric", dtype="double", stage="num", stage_type="impute", inputs=[c]) for c in NUMS
    ]
    return FeatureMap(
        pipeline="tiny", version="t0001", table=table, label="label", fields=fields, total_vocab_size=VOCAB * len(CATS)
    )


def spec() -> FeatureSpec:
    return FeatureSpec.from_feature_map(feature_map())


def frame(rows: int, seed: int):
    """A pandas frame shaped like a feat table: label, local indices, numeric doubles."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: rng.integers(0, VOCAB, rows).astype(np.int32) for c in CATS})
    for c in NUMS:
        df[c] = rng.normal(size=rows)
    logit = (
        -1.0 + 0.4 * (df["u_idx"] - 4.5) / 3 + 1.5 * ((df["u_idx"] < 5) == (df["it_idx"] < 5)) + 0.8 * df["n1"] - 0.7
    )
    df.insert(0, "label", (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int32))
    return df


def tensors(rows: int, seed: int):
    import torch

    df = frame(rows, seed)
    offsets = np.arange(len(CATS)) * VOCAB
    cat = torch.from_numpy(df[CATS].to_numpy(np.int64) + offsets)
    num = torch.from_numpy(df[NUMS].to_numpy(np.float32))
    return cat, num, torch.from_numpy(df["label"].to_numpy(np.float32))
