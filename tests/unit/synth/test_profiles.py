"""The real-data profiles (criteo_like, avazu_like) on the driver: determinism, marginals against the
measured shapes of real logs (one test per column family), the planted truth, and the tail fit."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.metrics import roc_auc_score

from pipelines.settings.synth import SynthSettings
from pipelines.synth import avazu_like, criteo_like
from pipelines.synth.generator import make_profile
from pipelines.synth.shapes import expected_counts, fit_tail

DAY = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def criteo():
    return criteo_like.profile(7)


@pytest.fixture(scope="module")
def avazu():
    return avazu_like.profile(7)


def _day(profile, blocks=4, n=50_000, day=DAY) -> pa.Table:
    return pa.Table.from_batches([profile.block_batch(day, b, n) for b in range(blocks)])


@pytest.fixture(scope="module")
def criteo_day(criteo) -> pa.Table:
    return _day(criteo)


@pytest.fixture(scope="module")
def avazu_day(avazu) -> pa.Table:
    return _day(avazu)


def _values(t: pa.Table, col: str) -> np.ndarray:
    return t.column(col).drop_null().to_numpy(zero_copy_only=False)


def test_profiles_are_deterministic_per_seed_day_and_block(criteo, avazu):
    for p in (criteo, avazu):
        a = p.block_batch(DAY, 3, 2000)
        assert a.equals(p.block_batch(DAY, 3, 2000))
        assert not a.equals(p.block_batch(DAY + dt.timedelta(days=1), 3, 2000))
        assert not a.equals(p.block_batch(DAY, 4, 2000))
    other = criteo_like.profile(8)
    assert not criteo.block_batch(DAY, 3, 2000).equals(other.block_batch(DAY, 3, 2000))
    assert criteo_like.profile(7).intercept == criteo.intercept  # the planted model is a function of the seed


def test_settings_pick_the_profile_and_its_table():
    assert make_profile(SynthSettings(profile="criteo_like")).name == "criteo_like"
    assert SynthSettings(profile="avazu_like").table_name == "avazu_logs"
    assert SynthSettings(profile="criteo_like").table_name == "click_logs"
    assert SynthSettings(profile="avazu_like", table="ads").table_name == "ads"
    assert abs(make_profile(SynthSettings(profile="avazu_like", positive_rate=0.05)).positive_rate - 0.05) < 1e-12


def test_criteo_like_has_criteos_columns(criteo_day):
    assert criteo_day.schema.names == ["label", *[f"I{i}" for i in range(1, 14)], *[f"C{j}" for j in range(1, 27)]]
    lengths = np.concatenate([pc.utf8_length(criteo_day.column(f"C{j}")).drop_null().to_numpy() for j in range(1, 27)])
    assert set(lengths) == {8}


def test_criteo_like_positive_rate(criteo_day):
    assert abs(pc.mean(criteo_day.column("label")).as_py() - criteo_like.POSITIVE_RATE) < 0.01


@pytest.mark.parametrize("shape", criteo_like.INTS, ids=lambda s: s.name)
def test_criteo_like_integer_column_marginals(criteo_day, shape):
    """Missing rate, quantiles and range. A quantile is checked on the empirical CDF (the share of values
    below and at the measured p50 / p90 / p99), which ties (I10 is 0 half the time) and steep tails allow."""
    t = criteo_day
    assert abs(t.column(shape.name).null_count / t.num_rows - shape.missing) < 0.01
    v = _values(t, shape.name).astype(np.float64)
    for q, want in ((0.5, shape.p50), (0.9, shape.p90), (0.99, shape.p99)):
        below, at_most = (v < want).mean(), (v <= want).mean()
        assert below <= q + 0.01 and at_most >= q - 0.01, f"{shape.name} p{int(q * 100)}={want}: {below}, {at_most}"
    assert v.min() >= shape.lo and v.max() <= shape.hi
    assert v.max() >= shape.p99  # the tail beyond p99 is there


def test_criteo_like_magnitudes_and_negatives(criteo_day):
    """Real magnitudes span six orders, and only I2 goes negative (to -2)."""
    assert _values(criteo_day, "I5").max() > 1_000_000
    assert _values(criteo_day, "I3").max() <= 65_535
    assert _values(criteo_day, "I2").min() == -2
    for i in range(1, 14):
        if i != 2:
            assert _values(criteo_day, f"I{i}").min() >= 0


@pytest.mark.parametrize("shape", criteo_like.CATS, ids=lambda s: s.name)
def test_criteo_like_categorical_column_marginals(criteo_day, shape):
    """In 10k rows: missing rate, top value share, distinct values and singletons as measured."""
    _check_categorical(criteo_day.slice(0, 10_000), shape)


def _check_categorical(sample: pa.Table, shape) -> None:
    assert abs(sample.column(shape.name).null_count / sample.num_rows - shape.missing) < 0.02
    _, counts = np.unique(_values(sample, shape.name), return_counts=True)
    assert abs(counts.max() / counts.sum() - shape.top) < 0.03
    noise = 3 * np.sqrt(shape.singletons + 1)  # ~3 sd of a 10k-row sample's distinct / singleton counts
    assert abs(len(counts) - shape.distinct) <= 0.04 * shape.distinct + noise
    assert abs((counts == 1).sum() - shape.singletons) <= 0.12 * shape.singletons + noise + 5


def test_criteo_like_missing_values_come_in_groups(criteo_day):
    for rate, cols in criteo_like.MISSING_GROUPS.groups.values():
        masks = np.stack([np.asarray(criteo_day.column(c).is_null()) for c in cols])
        assert (masks == masks[0]).all(), cols  # missing together, row by row
        assert abs(masks[0].mean() - rate) < 0.01


def test_avazu_like_columns_hour_and_id(avazu_day):
    assert avazu_day.schema.names == avazu_like.COLUMNS
    hour = avazu_day.column("hour").to_numpy()
    assert (hour // 100 == 261101).all()  # YYMMDDHH of the day
    assert set(np.unique(hour % 100)) == set(range(24))
    ids = avazu_day.column("id").to_numpy(zero_copy_only=False)
    assert len(np.unique(ids)) == len(ids)
    assert (pc.cast(avazu_day.column("id"), pa.uint64()).to_numpy() > 2**63 - 1).any()  # overflows bigint
    assert avazu_day.schema.field("C14").type == pa.int32() and avazu_day.schema.field("site_id").type == pa.string()
    assert abs(pc.mean(avazu_day.column("click")).as_py() - avazu_like.POSITIVE_RATE) < 0.01


@pytest.mark.parametrize("shape", avazu_like.CATS, ids=lambda s: s.name)
def test_avazu_like_categorical_column_marginals(avazu_day, shape):
    _check_categorical(avazu_day.slice(0, 10_000), shape)


def test_truth_scores_stored_rows_as_the_labels_were_drawn(criteo, avazu):
    """truth(stored batch) is the probability the labels were drawn with: the ceiling is known."""
    for p in (criteo, avazu):
        batch = p.block_batch(DAY, 0, 20_000)
        ints, codes, hour, _ = p.draw(np.random.default_rng([p.seed, DAY.toordinal(), 0]), 20_000)
        np.testing.assert_allclose(p.truth(batch), p.predict(ints, codes, hour))
        label = batch.column(p.label).to_numpy()
        assert roc_auc_score(label, p.truth(batch)) > 0.75


def test_the_planted_model_has_interactions(criteo, avazu):
    """Without its low-rank pairwise part the planted model ranks rows clearly worse."""
    for p in (criteo, avazu):
        ints, codes, hour, rng = p.draw(np.random.default_rng(5), 50_000)
        z = p.logit(ints, codes, hour)
        y = rng.random(len(z)) < 1 / (1 + np.exp(-z))
        flat = dataclasses.replace(p, effects=dataclasses.replace(p.effects, latent_scale=0.0))
        assert roc_auc_score(y, z) - roc_auc_score(y, flat.logit(ints, codes, hour)) > 0.01


def test_tail_fit_matches_the_expected_counts():
    k, s, q = fit_tail(0.048, 5610, 4895, 0.048, 9640.0)
    distinct, singles, first = expected_counts(0.048, k, s, 9640.0, q)
    assert abs(distinct - 5610) < 20 and abs(singles - 4895) < 0.05 * 4895 and first <= 0.048
