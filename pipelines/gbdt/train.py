"""Train the GBDT, then the three models the paper compares, each as one pyspark.ml PipelineModel.

    gbdt_lr : GBDTLeafEncoder(leaves) -> OneHotAssembler(raw fields) -> VectorAssembler -> LogisticRegression
    lr      : OneHotAssembler(all fields) -> LogisticRegression          (LR on the features alone)
    gbdt    : GBDTLeafEncoder(probability)                               (the trees alone)

Every model's output column `probability` is normalised to a double by `as_probability`.
"""

from __future__ import annotations

import logging

from pipelines.common.errors import DataError
from pipelines.common.timing import stage
from pipelines.gbdt.leaf_encoder import GBDTLeafEncoderModel
from pipelines.gbdt.onehot import OneHotAssembler
from pipelines.gbdt.settings import GbdtSettings

log = logging.getLogger("ctrflow")

MODELS = ("gbdt_lr", "lr", "gbdt")


def tree_columns(fm, s: GbdtSettings) -> list[str]:
    fields = [f for f in fm.fields if f.kind in ("categorical", "numeric")]
    if s.tree_fields is not None:
        unknown = sorted(set(s.tree_fields) - {f.name for f in fields})
        if unknown:
            raise DataError(f"gbdt.tree_fields: {unknown} are not categorical/numeric fields of feature map "
                            f"{fm.pipeline} (fields: {', '.join(f.name for f in fields)})")
        fields = [f for f in fields if f.name in s.tree_fields]
    return [f.name for f in fields]


def check_lr_fields(fm, s: GbdtSettings) -> None:
    if s.lr_fields:
        known = {f.name for f in fm.fields if f.kind in ("categorical", "numeric")}
        unknown = sorted(set(s.lr_fields) - known)
        if unknown:
            raise DataError(f"gbdt.lr_fields: {unknown} are not categorical/numeric fields of feature map "
                            f"{fm.pipeline}")


def fit_booster(train_df, cols: list[str], label: str, s: GbdtSettings) -> bytes:
    """Train the trees with the configured backend; the booster's serialised bytes."""
    t = s.trees
    if s.backend == "xgboost":
        from xgboost.spark import SparkXGBClassifier

        clf = SparkXGBClassifier(
            features_col=cols, label_col=label, num_workers=s.num_workers, n_estimators=t.n_estimators,
            max_depth=t.max_depth, learning_rate=t.learning_rate, min_child_weight=t.min_child_weight,
            subsample=t.subsample, colsample_bytree=t.colsample_bytree, reg_lambda=t.reg_lambda,
            max_bin=t.max_bin, tree_method="hist", random_state=s.seed, missing=float("nan"))
        model = clf.fit(train_df.select(label, *cols))
        return bytes(model.get_booster().save_raw("ubj"))
    return _fit_lightgbm(train_df, cols, label, s)


def _fit_lightgbm(train_df, cols: list[str], label: str, s: GbdtSettings) -> bytes:
    """LightGBM in one process on a bounded sample (the driver receives at most lightgbm_max_rows rows)."""
    import lightgbm as lgb
    import numpy as np

    n = train_df.count()
    frac = min(1.0, s.lightgbm_max_rows / max(n, 1))
    sample = train_df.select(label, *cols)
    if frac < 1.0:
        sample = sample.sample(fraction=frac, seed=s.seed)
        log.info("lightgbm: training on a %.1f%% sample (%d of %d rows; gbdt.lightgbm_max_rows)",
                 100 * frac, int(frac * n), n)
    table = sample.toArrow()
    X = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float32) for c in cols])
    y = table.column(label).to_numpy(zero_copy_only=False)
    t = s.trees
    params = {"objective": "binary", "learning_rate": t.learning_rate, "num_leaves": t.num_leaves,
              "max_depth": t.max_depth, "min_sum_hessian_in_leaf": t.min_child_weight,
              "bagging_fraction": t.subsample, "bagging_freq": 1 if t.subsample < 1 else 0,
              "feature_fraction": t.colsample_bytree, "lambda_l2": t.reg_lambda, "max_bin": t.max_bin,
              "seed": s.seed, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=cols), num_boost_round=t.n_estimators)
    return booster.model_to_string().encode()


def _lr(features_col: str, label: str, s: GbdtSettings):
    from pyspark.ml.classification import LogisticRegression

    return LogisticRegression(featuresCol=features_col, labelCol=label, probabilityCol="lr_probability",
                              rawPredictionCol="lr_raw", predictionCol="lr_prediction",
                              regParam=s.lr.reg_param, elasticNetParam=s.lr.elastic_net_param,
                              maxIter=s.lr.max_iter, tol=s.lr.tol, standardization=s.lr.standardization)


def build_models(train_df, fm, s: GbdtSettings, only: tuple[str, ...] = MODELS) -> tuple[dict, dict]:
    """Fit the booster and the requested models on train_df; (name -> PipelineModel, facts)."""
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import VectorAssembler

    label, cols = fm.label, tree_columns(fm, s)
    check_lr_fields(fm, s)
    models, facts = {}, {"tree_columns": cols}
    if {"gbdt_lr", "gbdt"} & set(only):
        with stage(f"training {s.trees.n_estimators} trees ({s.backend}) on {len(cols)} columns"):
            raw = fit_booster(train_df, cols, label, s)
        encoder = GBDTLeafEncoderModel.from_booster(s.backend, raw, cols, leaves_col="leaves")
        facts.update(num_trees=encoder.booster().num_trees, total_leaves=encoder.numLeaves())
        log.info("booster: %d trees, %d leaves in all", facts["num_trees"], facts["total_leaves"])
        if "gbdt" in only:
            models["gbdt"] = PipelineModel(stages=[encoder.copyWith(leavesCol="", probabilityCol="probability")])
        if "gbdt_lr" in only:
            stages = [encoder]
            inputs = ["leaves"]
            if s.lr_fields != []:
                stages.append(OneHotAssembler.from_feature_map(fm, s.lr_fields, "raw_features",
                                                               s.lr.max_field_dim))
                inputs.append("raw_features")
            stages.append(VectorAssembler(inputCols=inputs, outputCol="lr_features"))
            with stage("training LR on leaves + raw features"):
                models["gbdt_lr"] = Pipeline(stages=[*stages, _lr("lr_features", label, s)]).fit(train_df)
    if "lr" in only:
        with stage("training LR on the features alone"):
            onehot = OneHotAssembler.from_feature_map(fm, None, "raw_features", s.lr.max_field_dim)
            models["lr"] = Pipeline(stages=[onehot, _lr("raw_features", label, s)]).fit(train_df)
    return models, facts
