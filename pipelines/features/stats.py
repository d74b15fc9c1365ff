"""Per-feature statistics of a day (null rate, distinct values, histogram) and drift against training.

Histograms use bins fixed at fit time so that a later day compares with the training window bin by
bin: numeric features by the training window's deciles (+ a bin for null), categorical features by
local index capped at CAT_BINS-1 (indices are ordered by training frequency, so the low ones are
the frequent values and the reserved missing/unknown ones). Drift is the population stability index
PSI = sum((p_day - p_train) * ln(p_day / p_train)); the usual reading: < 0.1 stable, 0.1-0.25
moved, > 0.25 shifted.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

from pipelines.features.stage_types import MULTI_VALUED_KIND, NUMERIC_KIND

CAT_BINS = 32
NUMERIC_QUANTILES = [i / 10 for i in range(1, 10)]
_EPS = 1e-4


@dataclass(frozen=True)
class FeatureStats:
    feature: str
    kind: str
    rows: int
    nulls: int
    null_rate: float
    distinct: int  # approximate
    mean: float | None
    min: float | None
    max: float | None
    edges: list[float]  # numeric bin edges (fitted on the training window)
    counts: list[int]  # histogram: numeric [null, <e0, e0.., >=e_last]; categorical index 0..CAT_BINS-1


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    null_rate_train: float
    null_rate_day: float
    moved: bool


def _bin_expr(name: str, kind: str, edges: list[float]):
    from pyspark.sql import functions as F

    c = F.col(f"`{name}`")
    if kind == NUMERIC_KIND:
        x = c.cast("double")
        expr = F.when(x.isNull() | F.isnan(x), F.lit(0))
        for i in range(len(edges) - 1, -1, -1):
            expr = expr.when(x >= edges[i], F.lit(i + 2))
        return expr.otherwise(F.lit(1))
    if kind == MULTI_VALUED_KIND:  # how many values a row has
        return F.least(F.coalesce(F.size(c), F.lit(0)), F.lit(CAT_BINS - 1))
    return F.least(F.coalesce(c.cast("int"), F.lit(0)), F.lit(CAT_BINS - 1))


def numeric_edges(df, fields: list[tuple[str, str]], relative_error: float = 0.001) -> dict[str, list[float]]:
    """Training-window deciles of the numeric features (one approxQuantile pass)."""
    nums = [n for n, k in fields if k == NUMERIC_KIND]
    if not nums:
        return {}
    q = df.approxQuantile(nums, NUMERIC_QUANTILES, relative_error)
    return {n: sorted(set(v)) for n, v in zip(nums, q, strict=True)}


def compute_stats(df, fields: list[tuple[str, str]], edges: dict[str, list[float]]) -> list[FeatureStats]:
    """Stats of (feature, kind) columns of df: one aggregation pass plus one histogram pass."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("_rows")]
    for i, (name, kind) in enumerate(fields):
        c = F.col(f"`{name}`")
        aggs += [F.sum(c.isNull().cast("long")).alias(f"n{i}"), F.approx_count_distinct(c).alias(f"d{i}")]
        if kind != MULTI_VALUED_KIND:
            aggs += [
                F.avg(c.cast("double")).alias(f"m{i}"),
                F.min(c.cast("double")).alias(f"lo{i}"),
                F.max(c.cast("double")).alias(f"hi{i}"),
            ]
    totals = df.agg(*aggs).first()
    pairs = ", ".join(f"{i}, b{i}" for i in range(len(fields)))
    binned = df.select(*[_bin_expr(n, k, edges.get(n, [])).alias(f"b{i}") for i, (n, k) in enumerate(fields)])
    hist = binned.select(F.expr(f"stack({len(fields)}, {pairs}) as (f, b)")).groupBy("f", "b").count().collect()
    counts: dict[int, dict[int, int]] = {}
    for r in hist:
        counts.setdefault(r["f"], {})[r["b"]] = r["count"]
    out = []
    rows = int(totals["_rows"])
    for i, (name, kind) in enumerate(fields):
        nbins = len(edges.get(name, [])) + 2 if kind == NUMERIC_KIND else CAT_BINS
        nulls = int(totals[f"n{i}"] or 0)
        multi = kind == MULTI_VALUED_KIND
        out.append(
            FeatureStats(
                feature=name,
                kind=kind,
                rows=rows,
                nulls=nulls,
                null_rate=nulls / rows if rows else 0.0,
                distinct=int(totals[f"d{i}"] or 0),
                mean=None if multi else totals[f"m{i}"],
                min=None if multi else totals[f"lo{i}"],
                max=None if multi else totals[f"hi{i}"],
                edges=list(edges.get(name, [])),
                counts=[int(counts.get(i, {}).get(b, 0)) for b in range(nbins)],
            )
        )
    return out


def psi(expected: list[int], actual: list[int]) -> float:
    """Population stability index of two histograms over the same bins (empty bins smoothed)."""
    if len(expected) != len(actual):
        raise ValueError(f"histograms of {len(expected)} and {len(actual)} bins")
    te, ta = sum(expected), sum(actual)
    if not te or not ta:
        return 0.0
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        pe, pa = max(e / te, _EPS), max(a / ta, _EPS)
        total += (pa - pe) * math.log(pa / pe)
    return total


def compare(train: list[FeatureStats], day: list[FeatureStats], threshold: float) -> list[FeatureDrift]:
    """PSI per feature of a day against the training window, largest first."""
    base = {s.feature: s for s in train}
    out = []
    for s in day:
        t = base.get(s.feature)
        if t is None:
            continue
        value = psi(t.counts, s.counts)
        out.append(FeatureDrift(s.feature, round(value, 6), t.null_rate, s.null_rate, value > threshold))
    return sorted(out, key=lambda d: -d.psi)


STATS_DDL = (
    "feature string, kind string, model_version string, rows bigint, nulls bigint, null_rate double, "
    "distinct bigint, mean double, min double, max double, edges array<double>, counts array<bigint>, "
    "psi double"
)


def write_day_stats(
    spark, table: str, ds: dt.date, stats: list[FeatureStats], drift: list[FeatureDrift], model_version: str
):
    """Replace the ds partition of feat.<pipeline>_stats (one row per feature)."""
    from pipelines.common import tables

    by = {d.feature: d.psi for d in drift}
    rows = [{**asdict(s), "model_version": model_version, "psi": by.get(s.feature)} for s in stats]
    cols = [c.split(" ")[0] for c in STATS_DDL.split(", ")]
    df = spark.createDataFrame([tuple(r[c] for c in cols) for r in rows], STATS_DDL)
    return tables.write_delta_partition(df, table, ds)


def read_day_stats(spark, table: str, ds: dt.date) -> tuple[str | None, list[FeatureStats]]:
    """(model_version, stats) of one ds partition of a stats table."""
    rows = spark.table(table).where(f"ds = '{ds.isoformat()}'").collect()
    fields = FeatureStats.__dataclass_fields__
    stats = [FeatureStats(**{k: (list(r[k]) if k in ("edges", "counts") else r[k]) for k in fields}) for r in rows]
    return (rows[0]["model_version"] if rows else None), stats
