"""Binary CTR metrics over a Spark DataFrame of (label, probability), computed on executors.

AUC comes from a histogram of the scores: executors count positives and negatives per score bin
(the driver receives at most `bins` rows, whatever the table size) and the AUC is the exact
Mann-Whitney statistic of the binned scores, ties within a bin counted half. With the default 2^16
bins (score resolution 1.5e-5) the difference from the exact AUC is far below the noise of any real
evaluation (tests check it against scikit-learn).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from pipelines.core.errors import DataError

EPS = 1e-15
DEFAULT_BINS = 1 << 16


@dataclass(frozen=True)
class BinaryMetrics:
    rows: int
    positives: int
    ctr: float  # observed positive rate
    mean_prediction: float
    auc: float
    logloss: float
    ne: float  # normalized entropy: logloss / entropy of the observed CTR (lower is better, 1 = no skill)
    calibration: float  # mean prediction / observed CTR (1 = calibrated)

    def as_dict(self) -> dict:
        return asdict(self)


def entropy(p: float) -> float:
    """Logloss of always predicting the base rate p (the NE denominator)."""
    p = min(max(p, EPS), 1 - EPS)
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def auc_from_bins(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann-Whitney AUC from per-bin counts ordered by increasing score; ties in a bin count half."""
    pos = np.asarray(pos, dtype=np.float64)
    neg = np.asarray(neg, dtype=np.float64)
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos == 0 or total_neg == 0:
        return float("nan")
    neg_below = np.cumsum(neg) - neg
    return float((pos * (neg_below + 0.5 * neg)).sum() / (total_pos * total_neg))


def score_bins_of_arrays(prob: np.ndarray, label: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """score_bins for numpy arrays (a trainer's validation batches, summed across workers): [4, bins] of
    rows, positives, sum of predictions and sum of logloss per score bin, the same bins and clipping."""
    p = np.clip(prob.astype(np.float64), EPS, 1 - EPS)
    b = np.minimum((p * bins).astype(np.int64), bins - 1)
    y = label.astype(np.float64)
    ll = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return np.stack([np.bincount(b, weights=w, minlength=bins) for w in (np.ones_like(p), y, p, ll)])


def metrics_from_array_bins(bins: np.ndarray) -> BinaryMetrics:
    """metrics_from_bins of score_bins_of_arrays' [4, bins] array."""
    import pandas as pd

    return metrics_from_bins(pd.DataFrame({"n": bins[0], "pos": bins[1], "sum_p": bins[2], "sum_ll": bins[3]}))


def score_bins(df, label_col: str = "label", prob_col: str = "probability", bins: int = DEFAULT_BINS):
    """Per score bin (ordered by score): rows, positives, sum of predictions and of logloss (pandas).

    One aggregation on executors; the driver receives at most `bins` small rows whatever the size of
    df. Rows with a null label or score, or a label other than 0/1, are an error."""
    from pyspark.sql import functions as F

    y = F.col(label_col).cast("double")
    p = F.least(F.greatest(F.col(prob_col).cast("double"), F.lit(EPS)), F.lit(1 - EPS))
    valid = F.col(label_col).isNotNull() & F.col(prob_col).isNotNull()
    # one aggregation per score bin carries everything (so the input is scanned once); invalid rows
    # are counted in bin -1 and fail the evaluation
    per_bin = (
        df.select(
            F.when(valid & y.isin(0.0, 1.0), F.least(F.floor(p * bins), F.lit(bins - 1)))
            .otherwise(-1)
            .cast("int")
            .alias("b"),
            y.alias("y"),
            p.alias("p"),
        )
        .groupBy("b")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum("y").alias("pos"),
            F.sum("p").alias("sum_p"),
            F.sum(-(F.col("y") * F.log("p") + (1 - F.col("y")) * F.log(1 - F.col("p")))).alias("sum_ll"),
        )
        .toPandas()  # at most `bins` + 1 small rows
        .sort_values("b")
        .reset_index(drop=True)
    )
    invalid = per_bin[per_bin["b"] < 0]
    if len(invalid):
        raise DataError(
            f"cannot evaluate: {int(invalid['n'].iloc[0])} rows have a null {prob_col} or a "
            f"{label_col} that is null or not 0/1"
        )
    if int(per_bin["n"].sum()) == 0:
        raise DataError("cannot evaluate: no rows")
    return per_bin


def metrics_from_bins(per_bin) -> BinaryMetrics:
    n = int(per_bin["n"].sum())
    pos = per_bin["pos"].to_numpy()
    positives = int(pos.sum())
    ctr = positives / n
    logloss = float(per_bin["sum_ll"].sum()) / n
    mean_p = float(per_bin["sum_p"].sum()) / n
    return BinaryMetrics(
        rows=n,
        positives=positives,
        ctr=ctr,
        mean_prediction=mean_p,
        auc=auc_from_bins(pos, per_bin["n"].to_numpy() - pos),
        logloss=logloss,
        ne=logloss / entropy(ctr) if 0 < ctr < 1 else float("nan"),
        calibration=mean_p / ctr if ctr > 0 else float("nan"),
    )


def binary_metrics(
    df, label_col: str = "label", prob_col: str = "probability", bins: int = DEFAULT_BINS
) -> BinaryMetrics:
    """Metrics of probabilities in `prob_col` against 0/1 labels in `label_col`, in one pass over df."""
    return metrics_from_bins(score_bins(df, label_col, prob_col, bins))


def roc_from_bins(per_bin) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates), from the highest score bin down; starts at (0, 0)."""
    pos = per_bin["pos"].to_numpy(dtype=np.float64)[::-1]
    neg = per_bin["n"].to_numpy(dtype=np.float64)[::-1] - pos
    tpr = np.concatenate([[0.0], np.cumsum(pos) / max(pos.sum(), 1)])
    fpr = np.concatenate([[0.0], np.cumsum(neg) / max(neg.sum(), 1)])
    return fpr, tpr


def reliability_table(per_bin, buckets: int = 20, bins: int = DEFAULT_BINS):
    """Calibration by equal-width prediction buckets: rows, mean prediction, observed CTR, their ratio."""
    import pandas as pd

    edges = np.linspace(0.0, 1.0, buckets + 1)
    score = (per_bin["b"].to_numpy() + 0.5) / bins  # each score bin's centre
    bucket = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, buckets - 1)
    g = per_bin.assign(bucket=bucket).groupby("bucket")[["n", "pos", "sum_p"]].sum()
    g = g[g["n"] > 0]
    out = pd.DataFrame(
        {
            "lower": edges[g.index],
            "upper": edges[g.index + 1],
            "rows": g["n"].astype(int),
            "mean_prediction": g["sum_p"] / g["n"],
            "observed_ctr": g["pos"] / g["n"],
        }
    )
    out["ratio"] = out["mean_prediction"] / out["observed_ctr"].where(out["observed_ctr"] > 0)
    return out.reset_index(drop=True)


def gauc(df, group_col: str, label_col: str = "label", prob_col: str = "probability") -> tuple[float, int]:
    """Impression-weighted mean of per-group AUCs over groups with both classes, on executors.

    Per (group, score): counts of positives and negatives; a window per group ordered by score gives
    the negatives below each score, hence the Mann-Whitney AUC of every group (ties count half). Only
    one row reaches the driver. Returns (gauc, number of groups that count)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    y = F.col(label_col).cast("double")
    per_score = (
        df.where(F.col(group_col).isNotNull() & F.col(prob_col).isNotNull())
        .groupBy(F.col(group_col).alias("g"), F.col(prob_col).cast("double").alias("p"))
        .agg(F.sum(y).alias("pos"), F.sum(1 - y).alias("neg"))
    )
    w = Window.partitionBy("g").orderBy("p").rowsBetween(Window.unboundedPreceding, -1)
    per_group = (
        per_score.withColumn("neg_below", F.coalesce(F.sum("neg").over(w), F.lit(0.0)))
        .groupBy("g")
        .agg(
            F.sum(F.col("pos") * (F.col("neg_below") + 0.5 * F.col("neg"))).alias("u"),
            F.sum("pos").alias("P"),
            F.sum("neg").alias("N"),
        )
        .where((F.col("P") > 0) & (F.col("N") > 0))
        .select((F.col("u") / (F.col("P") * F.col("N"))).alias("auc"), (F.col("P") + F.col("N")).alias("w"))
    )
    row = per_group.agg(
        F.sum(F.col("auc") * F.col("w")).alias("num"), F.sum("w").alias("den"), F.count(F.lit(1)).alias("groups")
    ).first()
    if not row["groups"]:
        return float("nan"), 0
    return float(row["num"] / row["den"]), int(row["groups"])
