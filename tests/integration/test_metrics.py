"""Distributed binary metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from pipelines.common.errors import DataError
from pipelines.eval.metrics import binary_metrics, entropy


def test_metrics_match_sklearn(spark):
    rng = np.random.default_rng(0)
    p = rng.beta(2, 6, 20_000)
    y = (rng.random(20_000) < p).astype(int)
    df = spark.createDataFrame([(int(a), float(b)) for a, b in zip(y, p, strict=True)], "label int, probability double")
    m = binary_metrics(df)
    assert m.rows == 20_000 and m.positives == int(y.sum())
    assert m.auc == pytest.approx(roc_auc_score(y, p), abs=2e-4)
    assert m.logloss == pytest.approx(log_loss(y, p), rel=1e-9)
    assert m.ne == pytest.approx(log_loss(y, p) / entropy(y.mean()), rel=1e-9)
    assert m.calibration == pytest.approx(p.mean() / y.mean(), rel=1e-9)


def test_bad_inputs_are_named(spark):
    with pytest.raises(DataError, match="no rows"):
        binary_metrics(spark.createDataFrame([], "label int, probability double"))
    with pytest.raises(DataError, match="1 rows have a null probability or a label that is null or not 0/1"):
        binary_metrics(spark.createDataFrame([(1, 0.5), (2, 0.4), (0, 0.1)], "label int, probability double"))


def test_ne_calibration_reliability_and_roc_by_hand(spark):
    from pipelines.eval.metrics import metrics_from_bins, reliability_table, roc_from_bins, score_bins

    rows = [(1, 0.8), (0, 0.8), (1, 0.6), (0, 0.2), (0, 0.2), (0, 0.1)]
    bins = score_bins(spark.createDataFrame(rows, "label int, probability double"))
    m = metrics_from_bins(bins)
    ll = -(math.log(0.8) + math.log(0.2) + math.log(0.6) + 2 * math.log(0.8) + math.log(0.9)) / 6
    ctr = 2 / 6
    assert m.logloss == pytest.approx(ll) and m.ne == pytest.approx(ll / entropy(ctr))
    assert m.calibration == pytest.approx((2.7 / 6) / ctr)
    # pairs (pos, neg): 0.8 vs {0.8 tie, 0.2, 0.2, 0.1} = 3.5; 0.6 vs {0.8 lose, 0.2, 0.2, 0.1} = 3 -> 6.5 / 8
    assert m.auc == pytest.approx(6.5 / 8)
    rel = reliability_table(bins, buckets=5)  # [0, .2) [.2, .4) ... : 0.1 | 0.2 0.2 | 0.6 | 0.8 0.8
    assert rel["rows"].tolist() == [1, 2, 1, 2]
    assert rel["observed_ctr"].tolist() == pytest.approx([0, 0, 1, 0.5])
    assert rel["mean_prediction"].tolist() == pytest.approx([0.1, 0.2, 0.6, 0.8], abs=1e-4)
    fpr, tpr = roc_from_bins(bins)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.trapezoid(tpr, fpr) == pytest.approx(6.5 / 8)


def test_gauc_by_hand(spark):
    from pipelines.eval.metrics import gauc

    rows = [("a", 1, 0.9), ("a", 0, 0.5), ("a", 1, 0.3), ("a", 0, 0.1),  # AUC 3/4, 4 rows
            ("b", 1, 0.4), ("b", 0, 0.4),  # a tie: AUC 1/2, 2 rows
            ("c", 1, 0.7)]  # one class only: left out
    df = spark.createDataFrame(rows, "g string, label int, probability double")
    value, groups = gauc(df, "g")
    assert groups == 2 and value == pytest.approx((0.75 * 4 + 0.5 * 2) / 6)
