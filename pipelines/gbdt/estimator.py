"""GBDTLeafEncoder: the Estimator that grows the trees and owns which rows they may see.

    enc = GBDTLeafEncoder(inputCols=cols, labelCol="label", splitPolicy="auto", leafFitFraction=0.5)
    tree_rows, lr_rows = enc.split(window)   # disjoint, their union is the window
    model = enc.fit(window)                  # a GBDTLeafEncoderModel grown on tree_rows only
    lr = LogisticRegression(...).fit(model.transform(lr_rows))   # the LR never sees a tree row

`fit` takes the whole window and fits on the tree side of `split`, so a caller cannot hand the trees
the LR's rows by mistake; `split` is deterministic (days, or a hash of the row), so the LR side is the
exact complement. The fitted model records the split and both sides' row counts (`fitSummary()`).
Both backends (xgboost.spark, LightGBM) go through it. Params are plain, so the Estimator persists with
DefaultParamsWriter and works in Pipeline / CrossValidator.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasLabelCol, HasSeed
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable

from pipelines.core.errors import DataError
from pipelines.gbdt import split as splits
from pipelines.gbdt.fit_trees import fit_booster
from pipelines.gbdt.leaf_encoder import GBDTLeafEncoderModel, HasLeafEncoderParams
from pipelines.settings.gbdt import TreeSettings

log = logging.getLogger("ctrflow")


def _p(name: str, doc: str, conv) -> Param:
    return Param(Params._dummy(), name, doc, typeConverter=conv)


class GBDTLeafEncoder(
    Estimator, HasLeafEncoderParams, HasLabelCol, HasSeed, DefaultParamsReadable, DefaultParamsWritable
):
    numWorkers = _p("numWorkers", "xgboost.spark barrier tasks", TypeConverters.toInt)
    nEstimators = _p("nEstimators", "number of trees", TypeConverters.toInt)
    maxDepth = _p("maxDepth", "maximum tree depth", TypeConverters.toInt)
    learningRate = _p("learningRate", "shrinkage (eta)", TypeConverters.toFloat)
    minChildWeight = _p("minChildWeight", "minimum hessian sum in a leaf", TypeConverters.toFloat)
    subsample = _p("subsample", "row subsample per tree", TypeConverters.toFloat)
    colsampleBytree = _p("colsampleBytree", "column subsample per tree", TypeConverters.toFloat)
    regLambda = _p("regLambda", "L2 penalty on leaf weights", TypeConverters.toFloat)
    maxBin = _p("maxBin", "histogram bins per feature", TypeConverters.toInt)
    numLeaves = _p("numLeaves", "leaves per tree (lightgbm only)", TypeConverters.toInt)
    lightgbmMaxRows = _p(
        "lightgbmMaxRows", "lightgbm trains in one process on at most this many sampled rows", TypeConverters.toInt
    )
    lrRowsPerLeaf = _p(
        "lrRowsPerLeaf",
        "fewer trees on small windows: at most lr_rows / (this x leaves per tree) "
        "trees, so the LR has this many rows per leaf slot (0 = off)",
        TypeConverters.toFloat,
    )
    splitPolicy = _p(
        "splitPolicy", "rows of the trees vs the LR: auto | days | fraction | none", TypeConverters.toString
    )
    dayCol = _p("dayCol", "the day column the days policy splits on", TypeConverters.toString)
    treeDays = _p(
        "treeDays",
        "days policy: the trees take the 'older' days (LR the newest) or the 'newest'",
        TypeConverters.toString,
    )
    leafFitFraction = _p(
        "leafFitFraction", "fraction policy: share of the rows the trees are fitted on", TypeConverters.toFloat
    )

    _DEFAULTS = dict(
        leavesCol="leaves",
        probabilityCol="",
        backend="xgboost",
        labelCol="label",
        numWorkers=2,
        nEstimators=50,
        maxDepth=5,
        learningRate=0.2,
        minChildWeight=20.0,
        subsample=1.0,
        colsampleBytree=1.0,
        regLambda=1.0,
        maxBin=256,
        numLeaves=31,
        lightgbmMaxRows=2_000_000,
        lrRowsPerLeaf=0.0,
        seed=7,
        splitPolicy="auto",
        dayCol="ds",
        treeDays="older",
        leafFitFraction=0.5,
    )

    @keyword_only
    def __init__(
        self,
        *,
        inputCols=None,
        labelCol="label",
        leavesCol="leaves",
        probabilityCol="",
        backend="xgboost",
        numWorkers=2,
        nEstimators=50,
        maxDepth=5,
        learningRate=0.2,
        minChildWeight=20.0,
        subsample=1.0,
        colsampleBytree=1.0,
        regLambda=1.0,
        maxBin=256,
        numLeaves=31,
        lightgbmMaxRows=2_000_000,
        lrRowsPerLeaf=0.0,
        seed=7,
        splitPolicy="auto",
        dayCol="ds",
        treeDays="older",
        leafFitFraction=0.5,
    ):
        super().__init__()
        self._setDefault(**self._DEFAULTS)
        self._set(**self._input_kwargs)

    @keyword_only
    def setParams(
        self,
        *,
        inputCols=None,
        labelCol="label",
        leavesCol="leaves",
        probabilityCol="",
        backend="xgboost",
        numWorkers=2,
        nEstimators=50,
        maxDepth=5,
        learningRate=0.2,
        minChildWeight=20.0,
        subsample=1.0,
        colsampleBytree=1.0,
        regLambda=1.0,
        maxBin=256,
        numLeaves=31,
        lightgbmMaxRows=2_000_000,
        lrRowsPerLeaf=0.0,
        seed=7,
        splitPolicy="auto",
        dayCol="ds",
        treeDays="older",
        leafFitFraction=0.5,
    ) -> GBDTLeafEncoder:
        return self._set(**self._input_kwargs)

    def trees(self) -> TreeSettings:
        g = self.getOrDefault
        t = TreeSettings(
            n_estimators=g(self.nEstimators),
            max_depth=g(self.maxDepth),
            learning_rate=g(self.learningRate),
            min_child_weight=g(self.minChildWeight),
            subsample=g(self.subsample),
            colsample_bytree=g(self.colsampleBytree),
            reg_lambda=g(self.regLambda),
            max_bin=g(self.maxBin),
            num_leaves=g(self.numLeaves),
        )
        try:
            t.validate()
        except ValueError as e:
            raise DataError(f"GBDT leaf encoder: {e}") from None
        return t

    def _sized_for(self, trees: TreeSettings, lr_rows: int) -> TreeSettings:
        """Fewer trees when the LR's rows are few: every leaf is a weight the LR must learn from its rows."""
        per_leaf = self.getOrDefault(self.lrRowsPerLeaf)
        if per_leaf <= 0:
            return trees
        leaves = 2**trees.max_depth
        if self.getOrDefault(self.backend) == "lightgbm":
            leaves = min(leaves, trees.num_leaves)
        cap = max(1, int(lr_rows // (per_leaf * leaves)))
        if cap >= trees.n_estimators:
            return trees
        log.info(
            "GBDT leaf encoder: %d trees instead of %d (%d LR rows, at least %g per leaf slot of %d per tree)",
            cap,
            trees.n_estimators,
            lr_rows,
            per_leaf,
            leaves,
        )
        return replace(trees, n_estimators=cap)

    def resolveSplit(self, df) -> splits.Split:
        """The split of this window (auto resolved to days or fraction); `split` and `fit` both use it."""
        g = self.getOrDefault
        hash_cols = [*self.getInputCols(), g(self.labelCol)]
        if g(self.dayCol) in df.columns:
            hash_cols.append(g(self.dayCol))
        return splits.resolve(
            df,
            policy=g(self.splitPolicy),
            day_col=g(self.dayCol),
            tree_days=g(self.treeDays),
            fraction=g(self.leafFitFraction),
            hash_cols=hash_cols,
            salt=g(self.seed),
        )

    def split(self, df, resolved: splits.Split | None = None):
        """(tree_rows, lr_rows): disjoint DataFrames whose union is df (both are df under policy none)."""
        s = resolved or self.resolveSplit(df)
        if s.policy == "none":
            return df, df
        return df.where(s.tree_flag), df.where(~s.tree_flag)

    def _fit(self, df) -> GBDTLeafEncoderModel:
        from pyspark.sql import functions as F

        g = self.getOrDefault
        cols, label = self.getInputCols(), g(self.labelCol)
        missing = [c for c in [*cols, label] if c not in df.columns]
        if missing:
            raise DataError(
                f"GBDT leaf encoder: columns {missing} are not in the DataFrame (it has {', '.join(df.columns)})"
            )
        trees = self.trees()
        s = self.resolveSplit(df)
        # one pass counts both sides (the counts go into the model and the registry's facts)
        sides = {
            bool(r["t"]): int(r["n"])
            for r in df.groupBy(s.tree_flag.alias("t")).agg(F.count(F.lit(1)).alias("n")).collect()
        }
        n_tree = sides.get(True, 0)
        n_lr = n_tree if s.policy == "none" else sides.get(False, 0)
        if n_tree == 0 or n_lr == 0:
            raise DataError(
                f"GBDT leaf encoder: split {s.describe()} leaves {n_tree} rows for the trees and "
                f"{n_lr} for the LR: both need rows (gbdt.split.*)"
            )
        trees = self._sized_for(trees, n_lr)
        tree_rows, _ = self.split(df, s)
        summary = {**s.describe(), "tree_rows": n_tree, "lr_rows": n_lr, "n_estimators": trees.n_estimators}
        log.info("GBDT leaf encoder: %s", summary)
        raw = fit_booster(
            tree_rows,
            cols,
            label,
            backend=g(self.backend),
            trees=trees,
            num_workers=g(self.numWorkers),
            seed=g(self.seed),
            lightgbm_max_rows=g(self.lightgbmMaxRows),
        )
        model = GBDTLeafEncoderModel.from_booster(
            g(self.backend),
            raw,
            cols,
            leaves_col=g(self.leavesCol),
            probability_col=g(self.probabilityCol),
            fit_summary=summary,
        )
        return self._copyValues(model)
