"""Target encoding: exact smoothed means on a later day, out-of-fold on the fitted days, no label leak."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from pipelines.eval.metrics import binary_metrics
from pipelines.features.stages.target_encode import TargetEncoder
from tests.unit.features.conftest import rows

TRAIN = [(1, "a", 1), (2, "a", 1), (3, "a", 0), (4, "a", 1), (5, "b", 0), (6, "b", 0)]


@pytest.fixture(scope="module")
def train(spark):
    return spark.createDataFrame([(*r, "2026-11-01") for r in TRAIN], "id int, c string, label int, ds string")


def _encoder(**kw):
    return TargetEncoder(inputCols=["c"], outputCols=["c_te"], labelCol="label", numFolds=2, smoothing=2.0, **kw)


def test_later_day_uses_full_training_statistics(train, spark, roundtrip):
    later = spark.createDataFrame(
        [(1, "a", "2026-11-02"), (2, "b", "2026-11-02"), (3, "zz", "2026-11-02"), (4, None, "2026-11-02")],
        "id int, c string, ds string",
    )
    model, out = roundtrip([_encoder()], train, other=later)
    # prior 0.5; a: (3 + 2*0.5) / (4 + 2); b: (0 + 1) / (2 + 2); unseen and missing: the prior
    assert rows(out, "c_te") == {1: (pytest.approx(4 / 6),), 2: (0.25,), 3: (0.5,), 4: (0.5,)}
    # without the day column (serving) the full statistics are used too
    assert rows(model.transform(later.drop("ds")), "c_te") == rows(out, "c_te")


def test_fitted_rows_never_see_their_own_label(train, spark, roundtrip):
    _, out = roundtrip([_encoder()], train)
    flipped = train.withColumn("label", F.when(F.col("id") == 1, 1 - F.col("label")).otherwise(F.col("label")))
    _, out_flipped = roundtrip([_encoder()], flipped)
    # row 1's own encoding does not move when only its own label changes
    assert rows(out, "c_te")[1] == rows(out_flipped, "c_te")[1]
    assert rows(out, "c_te") != rows(model_free_full(train, spark), "c_te")


def model_free_full(train, spark):
    """The same rows encoded as a later day would be (full statistics, in-sample)."""
    return _encoder().fit(train).transform(train.withColumn("ds", F.lit("later")))


def test_id_like_feature_does_not_give_a_perfect_auc(spark):
    """A feature that identifies rows "equals the label" in-sample; out-of-fold it must carry nothing."""
    rng = np.random.default_rng(3)
    n = 3000
    ids = rng.integers(0, 1000, n)  # about three rows per value
    labels = rng.integers(0, 2, n)
    data = [(i, f"u{v}", int(y), "2026-11-01") for i, (v, y) in enumerate(zip(ids, labels, strict=True))]
    df = spark.createDataFrame(data, "id int, user string, label int, ds string")
    enc = TargetEncoder(inputCols=["user"], outputCols=["user_te"], numFolds=5, smoothing=1.0)
    model = enc.fit(df)
    oof = binary_metrics(model.transform(df), "label", "user_te").auc
    in_sample = binary_metrics(model.transform(df.withColumn("ds", F.lit("other"))), "label", "user_te").auc
    assert in_sample > 0.8  # the leak this stage exists to prevent is real on this data
    assert oof < 0.6
