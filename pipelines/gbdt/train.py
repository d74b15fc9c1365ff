"""Train the GBDT, then the three models the paper compares, each as one pyspark.ml PipelineModel.

    gbdt_lr : GBDTLeafEncoder(leaves) -> OneHotAssembler(raw fields) -> VectorAssembler -> LogisticRegression
    lr      : OneHotAssembler(all fields) -> LogisticRegression          (LR on the features alone)
    gbdt    : GBDTLeafEncoder(probability)                               (the trees alone)

The trees and gbdt_lr's LR are fitted on disjoint rows of the window, split by GBDTLeafEncoder
(gbdt.split: by day, or by a hash of the row); `lr` is fitted on the whole window. Every model's output
column `probability` is normalised to a double by `as_probability`.
"""

from __future__ import annotations

import logging

from pipelines.core.errors import DataError
from pipelines.core.timing import stage
from pipelines.gbdt.estimator import GBDTLeafEncoder
from pipelines.gbdt.lr import fit_lr
from pipelines.gbdt.onehot import OneHotAssembler
from pipelines.settings.gbdt import GbdtSettings

log = logging.getLogger("ctrflow")

MODELS = ("gbdt_lr", "lr", "gbdt")


def tree_columns(fm, s: GbdtSettings) -> list[str]:
    fields = [f for f in fm.fields if f.kind in ("categorical", "numeric")]
    if s.tree_fields is not None:
        unknown = sorted(set(s.tree_fields) - {f.name for f in fields})
        if unknown:
            raise DataError(
                f"gbdt.tree_fields: {unknown} are not categorical/numeric fields of feature map "
                f"{fm.pipeline} (fields: {', '.join(f.name for f in fields)})"
            )
        fields = [f for f in fields if f.name in s.tree_fields]
    return [f.name for f in fields]


def check_lr_fields(fm, s: GbdtSettings) -> None:
    if s.lr_fields:
        known = {f.name for f in fm.fields if f.kind in ("categorical", "numeric")}
        unknown = sorted(set(s.lr_fields) - known)
        if unknown:
            raise DataError(
                f"gbdt.lr_fields: {unknown} are not categorical/numeric fields of feature map {fm.pipeline}"
            )


def leaf_encoder(cols: list[str], label: str, s: GbdtSettings) -> GBDTLeafEncoder:
    """The Estimator of the trees, configured from gbdt.yml; it owns the trees/LR split."""
    t = s.trees
    return GBDTLeafEncoder(
        inputCols=cols,
        labelCol=label,
        leavesCol="leaves",
        backend=s.backend,
        numWorkers=s.num_workers,
        nEstimators=t.n_estimators,
        maxDepth=t.max_depth,
        learningRate=t.learning_rate,
        minChildWeight=t.min_child_weight,
        subsample=t.subsample,
        colsampleBytree=t.colsample_bytree,
        regLambda=t.reg_lambda,
        maxBin=t.max_bin,
        numLeaves=t.num_leaves,
        lightgbmMaxRows=s.lightgbm_max_rows,
        lrRowsPerLeaf=t.lr_rows_per_leaf,
        seed=s.seed,
        splitPolicy=s.split.policy,
        dayCol="ds",
        treeDays=s.split.tree_days,
        leafFitFraction=s.split.leaf_fit_fraction,
    )


def build_models(train_df, fm, s: GbdtSettings, only: tuple[str, ...] = MODELS) -> tuple[dict, dict]:
    """Fit the requested models on the window train_df; (name -> PipelineModel, facts).

    The trees see only the tree side of the encoder's split and gbdt_lr's LR only its complement; the
    `lr` baseline is fitted on the whole window (the same rows as gbdt_lr in all), as is its penalty."""
    from pyspark.ml import PipelineModel
    from pyspark.ml.feature import VectorAssembler

    label, cols = fm.label, tree_columns(fm, s)
    check_lr_fields(fm, s)
    hash_cols = [label, *(f.name for f in fm.fields if f.kind in ("categorical", "numeric"))]
    models, facts = {}, {"tree_columns": cols}
    if {"gbdt_lr", "gbdt"} & set(only):
        est = leaf_encoder(cols, label, s)
        split = est.resolveSplit(train_df)
        with stage(
            f"training {s.trees.n_estimators} trees ({s.backend}) on {len(cols)} columns, split {split.describe()}"
        ):
            encoder = est.fit(train_df)
        facts.update(num_trees=encoder.booster().num_trees, total_leaves=encoder.numLeaves(), **encoder.fitSummary())
        log.info(
            "booster: %d trees, %d leaves in all; trees on %d rows, LR on %d",
            facts["num_trees"],
            facts["total_leaves"],
            facts["tree_rows"],
            facts["lr_rows"],
        )
        if "gbdt" in only:
            models["gbdt"] = PipelineModel(stages=[encoder.copyWith(leavesCol="", probabilityCol="probability")])
        if "gbdt_lr" in only:
            stages = [encoder]
            inputs = ["leaves"]
            if s.lr_fields != []:
                stages.append(OneHotAssembler.from_feature_map(fm, s.lr_fields, "raw_features", s.lr.max_field_dim))
                inputs.append("raw_features")
            stages.append(VectorAssembler(inputCols=inputs, outputCol="lr_features"))
            _, lr_rows = est.split(train_df, split)
            with stage(f"training LR on leaves + raw features ({facts['lr_rows']} rows)"):
                lr_model, lr_facts = fit_lr(
                    PipelineModel(stages=stages).transform(lr_rows), "lr_features", label, s.lr, hash_cols, s.seed
                )
            models["gbdt_lr"] = PipelineModel(stages=[*stages, lr_model])
            facts["gbdt_lr_lr"] = lr_facts
    if "lr" in only:
        onehot = OneHotAssembler.from_feature_map(fm, None, "raw_features", s.lr.max_field_dim)
        with stage("training LR on the features alone (the whole window)"):
            lr_model, lr_facts = fit_lr(onehot.transform(train_df), "raw_features", label, s.lr, hash_cols, s.seed)
        models["lr"] = PipelineModel(stages=[onehot, lr_model])
        facts["lr_lr"] = lr_facts
    return models, facts


def report_context(facts: dict) -> dict:
    """The facts of build_models as one-line entries of the report's context."""
    out = {k: v for k, v in facts.items() if k in ("tree_columns", "num_trees", "total_leaves")}
    if "split_policy" in facts:
        where = {
            "days": lambda: f"trees on {', '.join(facts['tree_days'])}, LR on {', '.join(facts['lr_days'])}",
            "fraction": lambda: f"trees on a {facts['leaf_fit_fraction']:g} hashed share of the rows, LR on the rest",
            "none": lambda: "trees and LR on the same rows",
        }[facts["split_policy"]]()
        out["trees / LR split"] = (
            f"{facts['split_policy']}: {where} ({facts['tree_rows']} tree rows, {facts['lr_rows']} LR rows)"
        )
    for model in ("gbdt_lr", "lr"):
        lr = facts.get(f"{model}_lr")
        if lr:
            how = (
                f"auto over {', '.join(lr['reg_grid'])}, held-out {lr['tune_fraction']:g}"
                if lr.get("reg_auto")
                else "fixed"
            )
            out[f"{model} regParam"] = f"{lr['reg_param']:g} ({how})"
    return out
