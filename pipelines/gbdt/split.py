"""Which rows of a training window fit the trees and which fit the LR on their leaves.

Stacked learners must not see their own training rows twice (docs/ARCHITECTURE.md): an LR fitted on
the leaves of trees grown on the same rows learns leaves that memorised those rows' labels. The split
is a boolean Spark Column (`True` = a tree row) built once per window, so the LR side is its exact
complement, whatever the data:

    days      the window has >= 2 days: trees on the older days, LR on the newest (or the reverse);
    fraction  a deterministic hash of the row puts a `fraction` of it on the tree side;
    none      trees and LR on the same rows (the overfit; kept only to measure what the split buys).

`auto` is `days` when the window has two days or more, else `fraction`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.core.errors import DataError

POLICIES = ("auto", "days", "fraction", "none")
TREE_DAYS = ("older", "newest")
_BUCKETS = 1 << 24  # hash resolution of a fraction: 6e-8


def row_unit(cols: list[str], salt: int):
    """A Column uniform in [0, 1) per row, a deterministic function of the row's values and `salt`.

    xxhash64 is Spark's own, stable across versions and executors, so a rerun puts every row on the
    same side; equal rows (duplicates) always land on the same side."""
    from pyspark.sql import functions as F

    h = F.xxhash64(F.lit(salt), *[F.col(f"`{c}`") for c in cols])
    return (F.pmod(h, F.lit(_BUCKETS)) / F.lit(float(_BUCKETS))).cast("double")


@dataclass(frozen=True)
class Split:
    """A resolved split of one window: `tree_flag` is True on the rows the trees are fitted on."""

    policy: str  # days | fraction | none (auto resolved)
    tree_flag: object  # pyspark Column, never null
    tree_days: list[str] = field(default_factory=list)  # days policy only
    lr_days: list[str] = field(default_factory=list)
    fraction: float | None = None  # fraction policy only

    def describe(self) -> dict:
        out: dict = {"split_policy": self.policy}
        if self.policy == "days":
            out.update(tree_days=self.tree_days, lr_days=self.lr_days)
        elif self.policy == "fraction":
            out["leaf_fit_fraction"] = self.fraction
        return out


def resolve(
    df, *, policy: str, day_col: str, tree_days: str, fraction: float, hash_cols: list[str], salt: int
) -> Split:
    """The split of df's rows; reads df's distinct days (a handful of rows) when the policy needs them."""
    from pyspark.sql import functions as F

    if policy not in POLICIES:
        raise DataError(f"GBDT leaf encoder: splitPolicy '{policy}' is not one of {', '.join(POLICIES)}")
    if tree_days not in TREE_DAYS:
        raise DataError(f"GBDT leaf encoder: treeDays '{tree_days}' is not one of {', '.join(TREE_DAYS)}")
    if policy == "none":
        return Split("none", F.lit(True))
    days: list[str] = []
    if policy in ("auto", "days"):
        if day_col not in df.columns:
            raise DataError(
                f"GBDT leaf encoder: splitPolicy '{policy}' needs the day column '{day_col}', "
                f"which the DataFrame lacks (it has {', '.join(df.columns)})"
            )
        days = sorted(str(r[0]) for r in df.select(day_col).distinct().collect() if r[0] is not None)
        if policy == "days" and len(days) < 2:
            raise DataError(
                f"GBDT leaf encoder: splitPolicy 'days' needs >= 2 days in '{day_col}', the "
                f"window has {days or 'none'}: use 'fraction' (or 'auto') for a one-day window"
            )
    if len(days) >= 2:
        trees, lr = (days[:-1], days[-1:]) if tree_days == "older" else (days[-1:], days[:-1])
        # a row whose day is null cannot be placed by day: it goes to the LR side, never to both
        flag = F.coalesce(F.col(day_col).cast("string").isin(trees), F.lit(False))
        return Split("days", flag, tree_days=trees, lr_days=lr)
    if not 0 < fraction < 1:
        raise DataError(f"GBDT leaf encoder: leafFitFraction must be in (0, 1), got {fraction}")
    missing = [c for c in hash_cols if c not in df.columns]
    if not hash_cols or missing:
        raise DataError(
            f"GBDT leaf encoder: the row hash needs columns of the DataFrame, got {hash_cols} (missing: {missing})"
        )
    return Split("fraction", row_unit(hash_cols, salt) < F.lit(fraction), fraction=fraction)
