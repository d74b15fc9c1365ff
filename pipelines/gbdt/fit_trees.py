"""Grow the trees with either backend and return the booster's bytes (what GBDTLeafEncoderModel keeps).

xgboost runs distributed (xgboost.spark, barrier mode, the feature columns passed as a list so no
vector is assembled; xgboost.spark repartitions the input into one partition per worker with a shuffle:
a barrier stage refuses a coalesce). The columns cross that shuffle and the JVM -> Python boundary as
float32, the type xgboost bins in anyway (a double is rounded to the same float either way), which
halves both. LightGBM has no Spark integration on this stack (SynapseML is Scala
2.12 and JVM-only), so it trains in one process on a bounded sample: the driver receives at most
`max_rows` rows.
"""

from __future__ import annotations

import logging

from pipelines.settings.gbdt import TreeSettings

log = logging.getLogger("ctrflow")


def fit_booster(
    df,
    cols: list[str],
    label: str,
    *,
    backend: str,
    trees: TreeSettings,
    num_workers: int,
    seed: int,
    lightgbm_max_rows: int,
) -> bytes:
    if backend == "xgboost":
        return _fit_xgboost(df, cols, label, trees, num_workers, seed)
    if backend == "lightgbm":
        return _fit_lightgbm(df, cols, label, trees, seed, lightgbm_max_rows)
    raise ValueError(f"unknown booster backend '{backend}' (xgboost or lightgbm)")


def _fit_xgboost(df, cols: list[str], label: str, t: TreeSettings, num_workers: int, seed: int) -> bytes:
    from xgboost.spark import SparkXGBClassifier

    clf = SparkXGBClassifier(
        features_col=cols,
        label_col=label,
        num_workers=num_workers,
        n_estimators=t.n_estimators,
        max_depth=t.max_depth,
        learning_rate=t.learning_rate,
        min_child_weight=t.min_child_weight,
        subsample=t.subsample,
        colsample_bytree=t.colsample_bytree,
        reg_lambda=t.reg_lambda,
        max_bin=t.max_bin,
        tree_method="hist",
        random_state=seed,
        missing=float("nan"),
    )
    from pyspark.sql import functions as F

    model = clf.fit(df.select(label, *(F.col(c).cast("float").alias(c) for c in cols)))
    return bytes(model.get_booster().save_raw("ubj"))


def _fit_lightgbm(df, cols: list[str], label: str, t: TreeSettings, seed: int, max_rows: int) -> bytes:
    import lightgbm as lgb
    import numpy as np

    n = df.count()
    frac = min(1.0, max_rows / max(n, 1))
    sample = df.select(label, *cols)
    if frac < 1.0:
        sample = sample.sample(fraction=frac, seed=seed)
        log.info(
            "lightgbm: training on a %.1f%% sample (%d of %d rows; gbdt.lightgbm_max_rows)",
            100 * frac,
            int(frac * n),
            n,
        )
    table = sample.toArrow()
    X = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float32) for c in cols])
    y = table.column(label).to_numpy(zero_copy_only=False)
    params = {
        "objective": "binary",
        "learning_rate": t.learning_rate,
        "num_leaves": t.num_leaves,
        "max_depth": t.max_depth,
        "min_sum_hessian_in_leaf": t.min_child_weight,
        "bagging_fraction": t.subsample,
        "bagging_freq": 1 if t.subsample < 1 else 0,
        "feature_fraction": t.colsample_bytree,
        "lambda_l2": t.reg_lambda,
        "max_bin": t.max_bin,
        "seed": seed,
        "verbose": -1,
    }
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=cols), num_boost_round=t.n_estimators)
    return booster.model_to_string().encode()
