"""Recall -> rank on planted users and items: hit rate@k of the day's clicks for the ANN order alone vs the
ANN candidates re-ranked by a trained CTR model, and the seconds of every step.

    .venv/bin/python bench/recs.py --users 100000 --items 50000 --rows 1500000 [--ranker gbdt_lr|deepfm]

One Spark session, one run, synth.profile recs:
  1. three days generated -> ingested -> features `recs` (fitted on day 1);
  2. on day 2: the two-tower model (train_ctr --variant recs) is trained and published, its item
     embeddings indexed (build_index), the ranker (GBDT+LR or DeepFM) trained and published;
  3. on day 3, the recs_daily chain: embed the day's users -> retrieve --candidates per user ->
     candidate_features -> rank (top --k) -> check_recs, whose hit rates are the figures;
  4. the ceiling on a sample of users: their candidates re-ranked by the planted P(click | user, item).
The goal of issue 18: ranked hit rate >= 1.2x the ANN order's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.runner import job_runner, make_days, open_session, synthetic_sets  # noqa: E402

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)


def ceiling(spark, settings, users: int, k: int) -> dict:
    """Hit rate@k of the day's clicks when a sample of users' candidates is re-ranked by the planted model."""
    import numpy as np
    from pyspark.sql import functions as F

    from pipelines.common import table_names
    from pipelines.synth.generator import make_profile

    world = make_profile(settings.synth).world  # the planted model the days were drawn from
    day = F.col("ds") == D3.isoformat()
    sample = spark.table(table_names.candidates(settings)).where(day).select("query_id").distinct().limit(users).cache()
    cands = spark.table(table_names.candidates(settings)).where(day).join(sample, "query_id").toPandas()
    clicks = (
        spark.table(table_names.staged(settings, "recs_logs"))
        .where(day & (F.col("click") == 1))
        .join(sample.withColumnRenamed("query_id", "user_id"), "user_id")
        .select("user_id", "item_id")
        .distinct()
        .toPandas()
    )
    cands["truth"] = world.click_probability(cands["query_id"].to_numpy(), cands["item_id"].to_numpy())
    clicked = set(zip(clicks["user_id"], clicks["item_id"], strict=True))
    with_clicks = set(clicks["user_id"])

    def hit_rate(order: str, ascending: bool) -> float:
        top = cands.sort_values(["query_id", order], ascending=[True, ascending]).groupby("query_id").head(k)
        hits = {u for u, i in zip(top["query_id"], top["item_id"], strict=True) if (u, i) in clicked}
        return len(hits) / max(1, len(with_clicks))

    return {
        "users": int(sample.count()),
        "users_with_clicks": len(with_clicks),
        "hit_rate_ann": hit_rate("rank", True),
        "hit_rate_truth": hit_rate("truth", False),
        "mean_truth": float(np.mean(cands["truth"])),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--items", type=int, default=50_000)
    p.add_argument("--rows", type=int, default=1_500_000, help="impressions per day")
    p.add_argument("--candidates", type=int, default=200)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--ranker", choices=["gbdt_lr", "deepfm"], default="gbdt_lr")
    p.add_argument("--epochs", type=int, default=2, help="ctr.epochs of the two-tower (and DeepFM) training")
    p.add_argument("--ceiling-users", type=int, default=2000)
    p.add_argument("--state", default="/tmp/ctrflow-bench-recs")
    p.add_argument("--reuse", action="store_true", help="keep the state directory (skip nothing, overwrite)")
    args = p.parse_args()

    sets = [
        *synthetic_sets(args.state, args.rows),
        "synth.profile=recs",
        f"synth.recs.users={args.users}",
        f"synth.recs.items={args.items}",
        "ctr.pipeline=recs",
        "gbdt.pipeline=recs",
        f"ctr.epochs={args.epochs}",
        f"recs.candidates={args.candidates}",
        f"recs.k={args.k}",
        "recs.quality.min_coverage=0",
    ]
    settings, spark = open_session(args.state, sets, reuse=args.reuse)
    job = job_runner(spark, sets)
    t0 = time.perf_counter()
    seconds = make_days(job, [D1, D2, D3], pipeline="recs", source="recs_logs")
    d2, d3 = D2.isoformat(), D3.isoformat()
    seconds["train two_tower"] = job(
        "train_ctr", "--ds", d2, "--model", "two_tower", "--variant", "recs", "--model-name", "recs_two_tower"
    )
    job("publish", "--ds", d2, "--model", "recs_two_tower", "--force")
    seconds["build_index"] = job(
        "build_index", "--ds", d2, "--embeddings", "out.recs_two_tower_item_embeddings", "--name", "recs_items"
    )
    if args.ranker == "gbdt_lr":
        seconds["train ranker"] = job("train_gbdt_lr", "--ds", d2, "--model-name", "recs_ranker")
    else:
        seconds["train ranker"] = job("train_ctr", "--ds", d2, "--model", "deepfm", "--model-name", "recs_ranker")
    job("publish", "--ds", d2, "--model", "recs_ranker", "--force")
    seconds["embed users"] = job("embed", "--ds", d3, "--model", "recs_two_tower", "--tower", "user")
    queries = "out.recs_two_tower_user_embeddings"
    seconds["retrieve"] = job(
        "retrieve", "--ds", d3, "--index", "recs_items", "--queries", queries, "--k", str(args.candidates)
    )
    seconds["candidate_features"] = job("candidate_features", "--ds", d3, "--index", "recs_items")
    seconds["rank"] = job("rank", "--ds", d3, "--index", "recs_items")
    seconds["check_recs"] = job("check_recs", "--ds", d3, "--index", "recs_items")
    from pipelines.common import table_names

    [q] = spark.table(table_names.recs_quality(settings)).where(f"ds = '{d3}'").collect()
    top = ceiling(spark, settings, args.ceiling_users, args.k)
    out = {
        "users": args.users,
        "items": args.items,
        "rows_per_day": args.rows,
        "candidates": args.candidates,
        "k": args.k,
        "ranker": args.ranker,
        "queried_users": q["users"],
        "users_with_clicks": q["users_with_clicks"],
        "hit_rate_ann": round(q["hit_rate_ann"], 4),
        "hit_rate_ranked": round(q["hit_rate"], 4),
        "ranked_vs_ann": round(q["hit_rate"] / q["hit_rate_ann"], 2) if q["hit_rate_ann"] else None,
        "recall_ann": round(q["recall_ann"], 4),
        "recall_ranked": round(q["recall"], 4),
        "coverage": q["coverage"],
        "distinct_share": round(q["distinct_share"], 4),
        "ceiling_sample": {k: round(v, 4) if isinstance(v, float) else v for k, v in top.items()},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "total_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
