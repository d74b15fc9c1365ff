"""The `recs` profile on the driver: determinism, schema, per-id attributes, skew, positive rate, and a
planted signal that ranking can find (a truth-ranked order beats a random one)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from pipelines.settings.synth import RecsSettings, SynthSettings
from pipelines.synth import recs
from pipelines.synth.generator import make_profile
from pipelines.synth.recs_hits import hit_rates, measure

DAY = dt.date(2026, 11, 1)
SETTINGS = RecsSettings(users=3000, items=1500)


@pytest.fixture(scope="module")
def profile():
    return recs.profile(7, SETTINGS)


@pytest.fixture(scope="module")
def day(profile) -> pa.Table:
    return pa.Table.from_batches([profile.block_batch(DAY, b, 50_000) for b in range(4)])


def test_make_profile_and_default_table():
    s = SynthSettings(profile="recs", recs=SETTINGS)
    assert make_profile(s).name == "recs" and s.table_name == "recs_logs"


def test_schema_is_exact(day):
    assert day.schema.names == [
        "click", "user_id", "u_segment", "u_region", "u_activity", "u_age",
        "item_id", "i_category", "i_brand", "i_price", "i_age_days",
    ]  # fmt: skip
    ints = {"click", "u_activity", "u_age", "i_price", "i_age_days"}
    assert all(f.type == (pa.int32() if f.name in ints else pa.string()) for f in day.schema)
    assert recs.SPARK_DDL.startswith("click int, user_id string, u_segment string")
    assert day.column("user_id")[0].as_py()[0] == "u" and len(day.column("item_id")[0].as_py()) == 8


def test_blocks_are_deterministic_and_distinct(profile):
    again = recs.profile(7, SETTINGS)  # a fresh profile, the cached world
    assert profile.block_batch(DAY, 3, 1000).equals(again.block_batch(DAY, 3, 1000))
    assert not profile.block_batch(DAY, 3, 1000).equals(profile.block_batch(DAY, 4, 1000))
    assert not recs.profile(8, SETTINGS).block_batch(DAY, 3, 1000).equals(profile.block_batch(DAY, 3, 1000))


def test_attributes_are_constant_per_id(day, profile):
    other = profile.block_batch(DAY + dt.timedelta(days=1), 9, 20_000)
    df = pa.concat_tables([day, pa.Table.from_batches([other])]).to_pandas()
    for key, cols in [("user_id", recs.USER_COLUMNS[1:]), ("item_id", recs.ITEM_COLUMNS[1:])]:
        per_id = df.groupby(key)[cols].nunique(dropna=False)
        assert (per_id == 1).all().all(), key
    users = df.drop_duplicates("user_id")
    assert 0.05 < users.u_age.isna().mean() < 0.15
    assert users.u_segment.nunique() == 8 and 20 <= users.u_region.nunique() <= 30
    assert df.i_category.nunique() >= 20 and (df.u_activity >= 0).all() and (df.i_age_days >= 0).all()


def test_a_few_users_hold_many_rows(day):
    counts = np.sort(day.column("user_id").value_counts().field("counts").to_numpy())[::-1]
    top = counts[: max(1, SETTINGS.users // 100)].sum() / counts.sum()
    assert top > 0.05  # the top 1% of users: more than 5x their share


def test_positive_rate_near_target(day):
    assert abs(np.mean(day.column("click").to_numpy()) - recs.POSITIVE_RATE) < 0.01
    other = recs.profile(7, SETTINGS, positive_rate=0.12).block_batch(DAY, 0, 50_000)
    assert abs(np.mean(other.column("click").to_numpy()) - 0.12) < 0.01


def test_truth_is_the_click_probability_of_the_pairs(day, profile):
    batch = day.to_batches()[0]
    p = profile.truth(batch)
    again = profile.world.click_probability(
        np.array(batch.column("user_id").to_pylist()), np.array(batch.column("item_id").to_pylist())
    )
    np.testing.assert_allclose(p, again)
    clicks = batch.column("click").to_numpy()
    assert p[clicks == 1].mean() > 1.5 * p[clicks == 0].mean()


def test_unknown_ids_are_one_line_errors(profile):
    with pytest.raises(ValueError, match="expected ids like u0000123, got"):
        profile.world.click_probability(np.array(["x1"]), np.array(["i0000001"]))
    with pytest.raises(ValueError, match="outside this world"):
        profile.world.click_probability(np.array(["u9999999"]), np.array(["i0000001"]))


def test_truth_ranking_of_shown_items_beats_random(day, profile):
    """Per user, rank the items shown to them by planted P(click | shown): clicked items come first more
    often than in a random order."""
    w = profile.world
    users, items = w.user_index(day.column("user_id")), w.item_index(day.column("item_id"))
    click = day.column("click").to_numpy() == 1
    p, r = w.click_probability_idx(users, items), np.random.default_rng(0).random(len(users))
    rank_truth = _rank_within_user(users, -p)
    rank_random = _rank_within_user(users, r)
    assert np.mean(rank_truth[click] < 3) > 1.3 * np.mean(rank_random[click] < 3)


def test_reranking_the_affinity_pool_by_truth_beats_affinity(profile):
    """On a held-out day, the affinity (logging-policy) order's top 200 re-ranked by the planted P(click)
    hits the day's clicks far more often in the top 10."""
    w = profile.world
    rng = np.random.default_rng([7, 99])
    users, items = w.draw(rng, 150_000)
    click = rng.random(len(users)) < w.click_probability_idx(users, items)
    m = measure(w, users[click], items[click], max_users=500)
    assert m["rerank_truth_hit@10"] > 1.2 * m["affinity_hit@10"]
    assert m["ceiling_hit@10"] >= m["rerank_joint_hit@10"] - 0.02


def test_hit_rates_counts_users_and_pairs():
    ranked = np.array([[1, 2], [3, 4]])
    hit, recall = hit_rates(ranked, np.array([0, 5]), np.array([0, 0, 5, 7]), np.array([2, 9, 9, 3]), k=2)
    assert hit == 0.5 and recall == pytest.approx(1 / 3)


def test_settings_are_validated():
    with pytest.raises(ValueError, match="recs.users and recs.items"):
        RecsSettings(users=0).validate()
    with pytest.raises(ValueError, match="recs.categories"):
        RecsSettings(categories=1).validate()


def _rank_within_user(users: np.ndarray, key: np.ndarray) -> np.ndarray:
    order = np.lexsort((key, users))
    start = np.searchsorted(users[order], users[order], side="left")
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - start
    return rank
