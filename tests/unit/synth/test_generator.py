"""The synthetic generator on the driver (numpy only): determinism, shape, rates, planted signal."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from pipelines.settings.synth import SynthSettings
from pipelines.synth.codes import hex8_array, mix64, parse_hex8
from pipelines.synth.generator import ARROW_SCHEMA, CAT_COLS, INT_COLS, block_batch, features_from_batch
from pipelines.synth.planted import PlantedModel

DAY = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def s() -> SynthSettings:
    return SynthSettings(positive_rate=0.2)


@pytest.fixture(scope="module")
def model(s) -> PlantedModel:
    return PlantedModel.from_settings(s)


def _day(model, s, day, blocks=4, n=10_000) -> pa.Table:
    return pa.Table.from_batches([block_batch(model, s, day, b, n) for b in range(blocks)])


def test_blocks_are_deterministic_per_seed_day_and_block(model, s):
    a = block_batch(model, s, DAY, 3, 2000)
    assert a.equals(block_batch(model, s, DAY, 3, 2000))
    assert not a.equals(block_batch(model, s, DAY + dt.timedelta(days=1), 3, 2000))
    assert not a.equals(block_batch(model, s, DAY, 4, 2000))
    other = PlantedModel.from_settings(dataclasses.replace(s, seed=8))
    assert not a.equals(block_batch(other, dataclasses.replace(s, seed=8), DAY, 3, 2000))
    # the planted model itself is a function of the seed only
    assert PlantedModel.from_settings(s).intercept == model.intercept


def test_schema_is_criteo_shaped(model, s):
    b = block_batch(model, s, DAY, 0, 5000)
    assert b.schema == ARROW_SCHEMA
    assert b.schema.names == ["label", *[f"I{i}" for i in range(1, 14)], *[f"C{j}" for j in range(1, 27)]]
    lengths = np.concatenate([pa.compute.utf8_length(b.column(c)).drop_null().to_numpy() for c in CAT_COLS])
    assert set(lengths) == {8}
    assert set(np.unique(b.column("label").to_numpy())) == {0, 1}


def test_positive_and_missing_rates_match_the_settings(model, s):
    t = _day(model, s, DAY)
    assert abs(pa.compute.mean(t.column("label")).as_py() - s.positive_rate) < 0.01
    for col, rate in zip(INT_COLS + CAT_COLS, s.int_missing + s.cat_missing, strict=True):
        observed = t.column(col).null_count / t.num_rows
        assert abs(observed - rate) < 0.015, (col, observed, rate)


def test_integers_are_heavy_tailed_and_vocabularies_zipf(model, s):
    t = _day(model, s, DAY)
    x = t.column("I5").drop_null().to_numpy()
    assert np.percentile(x, 99.9) > 20 * max(np.median(x), 1)  # heavy right tail
    c = t.column("C3").drop_null().to_numpy(zero_copy_only=False)  # ~10M-value vocabulary
    _, counts = np.unique(c, return_counts=True)
    top = np.sort(counts)[::-1]
    assert top[0] > 50 * np.median(counts)  # a popular head ...
    assert (counts == 1).mean() > 0.5  # ... and a long tail of values seen once
    assert len(np.unique(t.column("C20").drop_null().to_numpy(zero_copy_only=False))) <= 4  # tiny vocabulary


def test_hex_codes_round_trip():
    codes = np.array([0, 1, 0xDEADBEEF, 0xFFFFFFFF, 12345], dtype=np.uint32)
    missing = np.array([False, True, False, False, True])
    arr = hex8_array(codes, missing)
    assert arr.to_pylist() == ["00000000", None, "deadbeef", "ffffffff", None]
    back, miss = parse_hex8(arr.slice(2))
    assert back.tolist() == [0xDEADBEEF, 0xFFFFFFFF, 0] and miss.tolist() == [False, False, True]
    with pytest.raises(ValueError, match="8 hex digits"):
        parse_hex8(pa.array(["abc"]))
    with pytest.raises(ValueError, match="non-hex"):
        parse_hex8(pa.array(["zzzzzzzz"]))


def test_planted_model_scores_stored_rows_like_the_generator(model, s):
    b = block_batch(model, s, DAY, 0, 3000)
    p = model.predict(*features_from_batch(b))
    assert p.shape == (3000,) and np.all((p > 0) & (p < 1))
    # the labels were drawn from these probabilities: their mean matches
    assert abs(p.mean() - b.column("label").to_numpy().mean()) < 0.03


def _one_hot(t: pa.Table, dim: int = 1 << 20) -> sp.csr_matrix:
    """Hashed one-hot of every categorical value and of log2 buckets of every integer (plain LR input)."""
    b = t.combine_chunks().to_batches()[0]
    ints, codes, missing = features_from_batch(b)
    cols = []
    for j in range(codes.shape[1]):
        v = np.where(missing[:, j], np.uint64(1 << 40), codes[:, j].astype(np.uint64))
        cols.append(mix64(v ^ np.uint64(j << 48)) % np.uint64(dim))
    for i in range(ints.shape[1]):
        bucket = np.where(np.isnan(ints[:, i]), 99, np.floor(np.log2(np.maximum(ints[:, i], 0) + 1)))
        cols.append(mix64(bucket.astype(np.uint64) ^ np.uint64((100 + i) << 48)) % np.uint64(dim))
    idx = np.stack(cols, axis=1).astype(np.int64)
    n, k = idx.shape
    return sp.csr_matrix((np.ones(n * k), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, dim))


def test_planted_ceiling_beats_a_plain_lr_on_the_same_rows(model, s):
    train = _day(model, s, DAY, blocks=8)  # 80k rows
    test = _day(model, s, DAY + dt.timedelta(days=1), blocks=3)
    lr = LogisticRegression(C=0.1, max_iter=400).fit(_one_hot(train), train.column("label").to_numpy())
    y = test.column("label").to_numpy()
    lr_auc = roc_auc_score(y, lr.predict_proba(_one_hot(test))[:, 1])
    ceiling_auc = roc_auc_score(y, model.predict(*features_from_batch(test.combine_chunks().to_batches()[0])))
    assert lr_auc > 0.65  # the signal is learnable ...
    assert ceiling_auc > lr_auc + 0.03  # ... but not all of it by a linear model (planted interactions)
