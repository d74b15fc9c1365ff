"""Hit rate at k of a day's clicks in the `recs` world, for rankings built from the planted model.

For users with at least one click on the day: hit@k is the share of users with a clicked item in their
top k, recall@k the share of distinct clicked (user, item) pairs there. The rankings compared:
- `affinity`: the top `pool` items by exposure(u, i) (category preference x popularity: what a retrieval
  model of logged pairs learns; the stand-in for ANN order);
- `rerank_truth`: that pool re-ranked by the planted P(click | shown) (a perfect CTR ranker);
- `rerank_joint`: that pool re-ranked by exposure x P(click | shown) (the best order of the pool);
- `ceiling`: every item ranked by exposure x P(click | shown) (the planted P(click on the day)).
numpy only, in chunks of users; no Spark.
"""

from __future__ import annotations

import numpy as np

from pipelines.synth.recs import RecsWorld


def hit_rates(ranked: np.ndarray, users: np.ndarray, click_users: np.ndarray, click_items: np.ndarray, k: int):
    """(hit@k, recall@k) of `ranked` (one row of item indices per entry of `users`) against clicked pairs."""
    n_items = int(max(ranked.max(), click_items.max())) + 1
    row = np.searchsorted(users, click_users)  # users is sorted; clicked pairs of other users are dropped
    known = (row < len(users)) & (users[np.minimum(row, len(users) - 1)] == click_users)
    pairs = np.unique(row[known] * n_items + click_items[known])
    top = (np.arange(len(users))[:, None] * n_items + ranked[:, :k]).ravel()
    hit = np.isin(pairs, top)
    per_user = np.bincount(pairs // n_items, weights=hit, minlength=len(users)) > 0
    return float(per_user.mean()), float(hit.mean())


def rankings(world: RecsWorld, users: np.ndarray, pool: int = 200, k: int = 10, chunk: int = 256) -> dict:
    """Top-k item indices per user for each ranking of the module docstring."""
    starts = np.searchsorted(world.i_category[world.by_category], np.arange(world.preference.shape[1]))
    ends = np.append(starts[1:], len(world.by_category))
    # the global top `pool` by exposure is among each category's `pool` most popular items
    pos = starts[:, None] + np.arange(pool)[None, :]
    cand = world.by_category[pos[pos < ends[:, None]]]
    out = {name: [] for name in ("affinity", "rerank_truth", "rerank_joint", "ceiling")}
    everything = np.arange(len(world.i_category))
    for lo in range(0, len(users), chunk):
        u = users[lo : lo + chunk, None]
        expo = world.exposure(u, cand[None, :])
        top = np.argpartition(-expo, min(pool, cand.size) - 1, axis=1)[:, :pool]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(expo, top, 1), axis=1), 1)
        items = cand[top]
        p = world.click_probability_idx(u, items)
        out["affinity"].append(items[:, :k])
        out["rerank_truth"].append(np.take_along_axis(items, np.argsort(-p, axis=1)[:, :k], 1))
        joint = p * np.take_along_axis(expo, top, 1)
        out["rerank_joint"].append(np.take_along_axis(items, np.argsort(-joint, axis=1)[:, :k], 1))
        full = world.click_probability_idx(u, everything[None, :]) * world.exposure(u, everything[None, :])
        best = np.argpartition(-full, k - 1, axis=1)[:, :k]
        out["ceiling"].append(np.take_along_axis(best, np.argsort(-np.take_along_axis(full, best, 1), axis=1), 1))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def measure(world: RecsWorld, click_users, click_items, pool=200, k=10, max_users=5000, seed=0) -> dict:
    """hit@k and recall@k of each ranking for (a sample of) the users with clicks."""
    users = np.unique(click_users)
    if len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    ranked = rankings(world, users, pool, k)
    out = {"users": len(users)}
    for name, r in ranked.items():
        out[f"{name}_hit@{k}"], out[f"{name}_recall@{k}"] = hit_rates(r, users, click_users, click_items, k)
    return out
