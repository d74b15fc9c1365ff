"""fit_booster's xgboost path: the float32 columns it hands xgboost.spark give the trees the doubles give."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.gbdt.fit_trees import fit_booster
from pipelines.settings.gbdt import TreeSettings


def test_float32_input_grows_the_trees_the_doubles_grow(spark):
    import xgboost as xgb
    from xgboost.spark import SparkXGBClassifier

    rng = np.random.default_rng(5)
    n = 600
    # values a float cannot hold exactly (thirds, large counts) and missing ones
    a = rng.integers(0, 40, n) / 3.0
    b = np.where(rng.random(n) < 0.2, np.nan, np.exp(rng.normal(8, 2, n)).round())
    label = (rng.random(n) < 1 / (1 + np.exp(-(a - 6) / 3 - (np.nan_to_num(b) > 3000)))).astype(int)
    df = spark.createDataFrame(pd.DataFrame({"a": a, "b": b, "label": label}))
    assert dict(df.dtypes)["a"] == "double"
    trees = TreeSettings(n_estimators=4, max_depth=3, min_child_weight=1.0)
    raw = fit_booster(
        df, ["a", "b"], "label", backend="xgboost", trees=trees, num_workers=1, seed=3, lightgbm_max_rows=0
    )

    doubles = SparkXGBClassifier(
        features_col=["a", "b"],
        label_col="label",
        num_workers=1,
        n_estimators=4,
        max_depth=3,
        learning_rate=trees.learning_rate,
        min_child_weight=1.0,
        reg_lambda=trees.reg_lambda,
        max_bin=trees.max_bin,
        tree_method="hist",
        random_state=3,
        missing=float("nan"),
    ).fit(df.select("label", "a", "b"))
    ours = xgb.Booster()
    ours.load_model(bytearray(raw))
    assert ours.get_dump(with_stats=True) == doubles.get_booster().get_dump(with_stats=True)
