"""Target encoding fitted out-of-fold (`type: target_encode`): a row's own label never reaches its feature.

Encoding of a value: (sum of labels + smoothing * prior) / (count + smoothing). Rows are assigned
to `num_folds` folds by a hash of the whole row. Rows of the fitted days (the `windowCol` values seen
at fit time) are encoded with the statistics of the other folds only; rows of any other day (the
later days a fitted pipeline transforms) with the statistics of the whole training window. Unseen,
rare (< min_count) and missing values encode as the prior.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasLabelCol, HasMinCount, HasOutputSuffix, HasWindowCol
from pipelines.features.persist import StatefulModel
from pipelines.features.stage_types import MultiColumnSpec, register
from pipelines.features.vocab import join_payload, keep_frequent, long_format


class _TargetParams(HasOutputSuffix, HasLabelCol, HasMinCount, HasWindowCol):
    suffix = "_te"
    numFolds = Param(
        Params._dummy(),
        "numFolds",
        "folds for out-of-fold encoding of training rows",
        typeConverter=TypeConverters.toInt,
    )
    smoothing = Param(
        Params._dummy(), "smoothing", "weight of the prior, in rows", typeConverter=TypeConverters.toFloat
    )

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(labelCol="label", minCount=1, windowCol="ds", numFolds=5, smoothing=20.0)


def _fold(cols: list[str], k: int):
    return F.pmod(F.xxhash64(*[F.col(f"`{c}`") for c in cols]), F.lit(k)).cast("int")


class TargetEncoder(Estimator, _TargetParams, DefaultParamsReadable, DefaultParamsWritable):
    @keyword_only
    def __init__(
        self,
        *,
        inputCols=None,
        outputCols=None,
        labelCol="label",
        minCount=1,
        windowCol="ds",
        numFolds=5,
        smoothing=20.0,
    ):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(
        self,
        *,
        inputCols=None,
        outputCols=None,
        labelCol="label",
        minCount=1,
        windowCol="ds",
        numFolds=5,
        smoothing=20.0,
    ):
        return self._set(**self._input_kwargs)

    def _fit(self, df):
        k, label, window = self.getOrDefault(self.numFolds), self.getLabelCol(), self.getWindowCol()
        # the whole row but its label: duplicates share a fold, and a row's fold owes nothing to its label
        fold_cols = [c for c in df.columns if c != label]
        data = df.withColumn("_fold", _fold(fold_cols, k)).withColumn("_y", F.col(f"`{label}`").cast("double"))
        per_fold = [
            a
            for f in range(k)
            for a in (
                F.sum(F.when(F.col("_fold") == f, 1).otherwise(0)).alias(f"n{f}"),
                F.sum(F.when(F.col("_fold") == f, F.col("_y")).otherwise(0.0)).alias(f"s{f}"),
            )
        ]
        days = [F.collect_set(F.col(f"`{window}`").cast("string")).alias("days")] if window in df.columns else []
        totals = data.agg(F.count(F.lit(1)).alias("n"), F.sum("_y").alias("s"), *per_fold, *days).first()
        if not totals["n"]:
            raise ValueError("TargetEncoder: no rows to fit on")
        prior = totals["s"] / totals["n"]
        fold_priors = [
            (totals["s"] - totals[f"s{f}"]) / (totals["n"] - totals[f"n{f}"])
            if totals["n"] > totals[f"n{f}"]
            else prior
            for f in range(k)
        ]
        stats = (
            long_format(data, list(self.getInputCols()), extra=["_fold", "_y"])
            .groupBy("col_id", "value")
            .agg(F.count(F.lit(1)).alias("count"), F.sum("_y").alias("sum"), *per_fold)
        )
        table = keep_frequent(stats, self.getMinCount(), 0).toPandas()
        model = TargetEncoderModel()
        self._copyValues(model)
        return model.setState(
            {
                "prior": prior,
                "fold_priors": fold_priors,
                "fold_cols": fold_cols,
                "days": sorted(totals["days"]) if days else [],
            },
            {"stats": table},
        )


class TargetEncoderModel(Model, _TargetParams, StatefulModel):
    def __init__(self):
        super().__init__()

    def _transform(self, df):
        st, table = self.getState(), self.getFrames()["stats"]
        k, m, window = self.getOrDefault(self.numFolds), self.getOrDefault(self.smoothing), self.getWindowCol()
        prior = F.lit(st["prior"])
        oof = F.lit(False)
        fold = F.lit(0)
        if st["days"] and window in df.columns and all(c in df.columns for c in st["fold_cols"]):
            oof = F.col(f"`{window}`").cast("string").isin(st["days"])
            fold = _fold(st["fold_cols"], k)
        tmp = f"__fold_{self.uid}"
        df = df.withColumn(tmp, fold)
        fold_prior = F.element_at(F.array(*[F.lit(p) for p in st["fold_priors"]]), F.col(tmp) + 1)
        payload = {
            "count": "bigint",
            "sum": "double",
            **{f"n{f}": "bigint" for f in range(k)},
            **{f"s{f}": "double" for f in range(k)},
        }
        for i, (src, dst) in enumerate(zip(self.getInputCols(), self.outputNames(), strict=True)):
            df, nm = join_payload(df, src, table[table["col_id"] == i], payload)
            n, s = F.coalesce(F.col(nm["count"]), F.lit(0)), F.coalesce(F.col(nm["sum"]), F.lit(0.0))
            own = F.col(tmp) + 1
            n_own = F.coalesce(F.element_at(F.array(*[F.col(nm[f"n{f}"]) for f in range(k)]), own), F.lit(0))
            s_own = F.coalesce(F.element_at(F.array(*[F.col(nm[f"s{f}"]) for f in range(k)]), own), F.lit(0.0))
            full = (s + m * prior) / (n + m)
            out_of_fold = (s - s_own + m * fold_prior) / (n - n_own + m)
            df = df.withColumn(dst, F.when(oof, out_of_fold).otherwise(full).cast("double")).drop(*nm.values())
        return df.drop(tmp)


@register("target_encode")
@dataclass(frozen=True)
class TargetEncodeSpec(MultiColumnSpec):
    """string/int inputs -> double smoothed label means, out-of-fold on the training window."""

    suffix = _TargetParams.suffix
    accepts = frozenset({"string", "numeric"})
    inputs: list[str]
    outputs: list[str] | None = None
    num_folds: int = 5
    smoothing: float = 20.0
    min_count: int = 1
    window_column: str = "ds"

    def validate(self) -> None:
        if self.num_folds < 2:
            raise ValueError(f"num_folds must be at least 2 (out-of-fold needs other folds), got {self.num_folds}")
        if self.smoothing < 0 or self.min_count < 1:
            raise ValueError("smoothing must be >= 0 and min_count >= 1")
        super().validate()

    def build(self, label):
        return TargetEncoder(
            **self.column_params(),
            labelCol=label,
            numFolds=self.num_folds,
            smoothing=self.smoothing,
            minCount=self.min_count,
            windowCol=self.window_column,
        )
