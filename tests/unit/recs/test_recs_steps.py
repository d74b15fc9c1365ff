"""The recall -> rank steps on hand-made frames: a user's latest row, the top k by a model's probability,
and the quality measures (coverage, diversity, hit rate ranked vs retrieval order)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.recs import candidate_rows, quality
from pipelines.recs.rank import top_k

DS = dt.date(2026, 11, 5)


def test_latest_rows_take_the_latest_day_in_the_window_and_break_ties_the_same_way(spark):
    rows = [
        ("u1", "a", 1, "2026-11-01"),
        ("u1", "b", 2, "2026-11-04"),  # latest in the window
        ("u1", "z", 9, "2026-11-06"),  # after ds: not seen yet
        ("u2", "c", 3, "2026-10-01"),  # before the 7-day window
        ("u3", "d", 1, "2026-11-05"),
        ("u3", "e", 1, "2026-11-05"),  # same day: the larger row, on every run
    ]
    df = spark.createDataFrame(rows, "user_id string, seg string, act int, ds string")
    got = {
        r["user_id"]: (r["seg"], r["act"])
        for r in candidate_rows.latest_rows(df, "user_id", ["seg", "act"], DS, 7).collect()
    }
    assert got == {"u1": ("b", 2), "u3": ("e", 1)}


def test_top_k_orders_by_probability_then_retrieval_rank(spark):
    rows = [("u1", f"i{n}", p, n) for n, p in enumerate([0.1, 0.9, 0.5, 0.5, 0.2], 1)] + [("u2", "i9", 0.3, 1)]
    df = spark.createDataFrame(rows, "user_id string, item_id string, probability double, retrieval_rank int")
    got = sorted((r["user_id"], r["rank"], r["item_id"]) for r in top_k(df, "user_id", 3).collect())
    assert got == [("u1", 1, "i2"), ("u1", 2, "i3"), ("u1", 3, "i4"), ("u2", 1, "i9")]


def test_quality_counts_hits_of_the_ranked_and_the_retrieval_lists(spark):
    # u1: retrieval order puts the clicked i3 third, the ranker first; u2 clicked nothing retrieved; u3 no click
    cands = [("u1", "i1", 1), ("u1", "i2", 2), ("u1", "i3", 3), ("u2", "i4", 1), ("u2", "i5", 2), ("u3", "i1", 1)]
    ranked = [("u1", "i3", 1), ("u1", "i1", 2), ("u2", "i4", 1), ("u2", "i5", 2), ("u3", "i1", 1)]
    clicks = [("u1", "i3"), ("u2", "i7"), ("u9", "i1")]  # u9 was not queried: not counted
    c = spark.createDataFrame(cands, "user_id string, item_id string, retrieval_rank int")
    r = spark.createDataFrame(ranked, "user_id string, item_id string, rank int")
    k = spark.createDataFrame(clicks, "user_id string, item_id string")
    q = quality.measure(r, c, k, "user_id", "item_id", 2)
    assert (q.users, q.users_with_clicks, q.k) == (3, 2, 2)
    assert q.coverage == pytest.approx(2 / 3)  # u3 has one recommendation, not 2
    assert (q.distinct_items, q.distinct_share) == (4, pytest.approx(4 / 6))
    assert (q.hit_rate, q.hit_rate_ann) == (0.5, 0.0) and q.lift is None
    assert (q.recall, q.recall_ann) == (0.5, 0.0)
    found = quality.problems(q, min_coverage=0.9, min_distinct_share=0.0, min_lift=1.2)
    assert found[0].startswith("coverage 0.667 < 0.9") and "hit-rate lift undefined" in found[1]
    assert quality.problems(q, 0.5, 0.5, None) == []
