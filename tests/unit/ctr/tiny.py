"""Tiny CTR data with a planted signal, as numpy arrays and as a feature spec / feature map."""

from __future__ import annotations

import numpy as np

from pipelines.ctr.models import FeatureSpec
from pipelines.features.feature_map import FeatureMap
from tests.tiny_features import clicks, indexed_feature_map, random_features

CATS, NUMS, VOCAB = ["u_idx", "c_idx", "it_idx"], ["n1", "n2"], 10


def feature_map(table: str = "feat.tiny") -> FeatureMap:
    return indexed_feature_map(CATS, NUMS, VOCAB, pipeline="tiny", version="t0001", table=table)


def spec() -> FeatureSpec:
    return FeatureSpec.from_feature_map(feature_map())


def frame(rows: int, seed: int):
    """A pandas frame shaped like a feat table: label, local indices, numeric doubles."""
    rng = np.random.default_rng(seed)
    df = random_features(rng, rows, CATS, NUMS, VOCAB)
    logit = (
        -1.0 + 0.4 * (df["u_idx"] - 4.5) / 3 + 1.5 * ((df["u_idx"] < 5) == (df["it_idx"] < 5)) + 0.8 * df["n1"] - 0.7
    )
    df.insert(0, "label", clicks(rng, logit))
    return df


def tensors(rows: int, seed: int):
    import torch

    df = frame(rows, seed)
    offsets = np.arange(len(CATS)) * VOCAB
    cat = torch.from_numpy(df[CATS].to_numpy(np.int64) + offsets)
    num = torch.from_numpy(df[NUMS].to_numpy(np.float32))
    return cat, num, torch.from_numpy(df["label"].to_numpy(np.float32))
