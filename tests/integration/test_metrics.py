"""Distributed binary metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

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
