"""Offline quality of a day's recommendations: coverage, diversity and hit rate of the day's clicks.

    coverage      share of the day's queried users with k recommendations
    distinct      distinct items over all top-k lists, and that / (users * k)
    hit_rate      among queried users with at least one click on the day: the share whose top k holds a
                  clicked item; for the ranked lists and for the retrieval order alone (the ANN's first k)
    recall        clicked (user, item) pairs of those users found in their top k / all their clicked pairs

Everything is aggregated on Spark; one small row comes back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RecsQuality:
    users: int
    users_with_clicks: int
    k: int
    coverage: float
    distinct_items: int
    distinct_share: float
    hit_rate: float
    hit_rate_ann: float
    recall: float
    recall_ann: float

    @property
    def lift(self) -> float | None:
        return self.hit_rate / self.hit_rate_ann if self.hit_rate_ann > 0 else None

    def as_dict(self) -> dict:
        return {**asdict(self), "hit_rate_lift": self.lift}


def _hits(lists, clicks, user_col: str, item_col: str):
    """(user, hits) for every user of `clicks`: how many of the user's clicked items are in its list."""
    from pyspark.sql import functions as F

    found = clicks.join(lists.select(user_col, item_col).withColumn("_in", F.lit(1)), [user_col, item_col], "left")
    return found.groupBy(user_col).agg(F.count(F.col("_in")).alias("hits"), F.count(F.lit(1)).alias("clicked"))


def measure(ranked, candidates, clicks, user_col: str, item_col: str, k: int) -> RecsQuality:
    """`ranked` (user, item, rank) top-k lists, `candidates` (user, item, retrieval_rank) in retrieval order,
    `clicks` (user, item) of the day, distinct."""
    from pyspark.sql import functions as F

    queried = candidates.select(user_col).distinct()
    per_user = ranked.groupBy(user_col).agg(F.count(F.lit(1)).alias("n"))
    cov = queried.join(per_user, user_col, "left").agg(
        F.count(F.lit(1)).alias("users"), F.sum(F.when(F.col("n") >= k, 1).otherwise(0)).alias("full")
    )
    distinct = ranked.agg(F.countDistinct(item_col).alias("d")).first()["d"]
    seen = clicks.join(queried, user_col, "inner")
    ann = candidates.where(F.col("retrieval_rank") <= k)
    totals = {}
    for name, lists in (("ranked", ranked), ("ann", ann)):
        h = _hits(lists, seen, user_col, item_col).agg(
            F.count(F.lit(1)).alias("users"),
            F.sum(F.when(F.col("hits") > 0, 1).otherwise(0)).alias("hit_users"),
            F.sum("hits").alias("hits"),
            F.sum("clicked").alias("clicked"),
        )
        totals[name] = h.first()
    c = cov.first()
    users, clicked_users = int(c["users"] or 0), int(totals["ranked"]["users"] or 0)

    def share(a, b) -> float:
        return float(a or 0) / b if b else 0.0

    return RecsQuality(
        users=users,
        users_with_clicks=clicked_users,
        k=k,
        coverage=share(c["full"], users),
        distinct_items=int(distinct or 0),
        distinct_share=share(distinct, users * k),
        hit_rate=share(totals["ranked"]["hit_users"], clicked_users),
        hit_rate_ann=share(totals["ann"]["hit_users"], clicked_users),
        recall=share(totals["ranked"]["hits"], totals["ranked"]["clicked"]),
        recall_ann=share(totals["ann"]["hits"], totals["ann"]["clicked"]),
    )


def problems(q: RecsQuality, min_coverage: float, min_distinct_share: float, min_lift: float | None) -> list[str]:
    """What falls short of the thresholds, one phrase each."""
    out = []
    if q.users == 0:
        out.append("no users were retrieved")
    if q.coverage < min_coverage:
        out.append(f"coverage {q.coverage:.3f} < {min_coverage} ({q.users} users, k={q.k})")
    if q.distinct_share < min_distinct_share:
        out.append(f"distinct share {q.distinct_share:.3f} < {min_distinct_share} ({q.distinct_items} items)")
    if min_lift is not None and (q.lift is None or q.lift < min_lift):
        lift = "undefined (ANN hit rate 0)" if q.lift is None else f"{q.lift:.2f}"
        out.append(f"hit-rate lift {lift} < {min_lift} (ranked {q.hit_rate:.3f}, ANN {q.hit_rate_ann:.3f})")
    return out
