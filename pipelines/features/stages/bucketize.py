"""Quantile bucketing with approximate quantiles fitted once (`type: bucketize`).

Output: 0 for a missing (null/NaN) input, 1..k for the buckets, so a bucket is a categorical value
a deep model can embed. All columns' quantiles come from one `approxQuantile` pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasNumBuckets, HasOutputSuffix, HasRelativeError
from pipelines.features.persist import StatefulModel
from pipelines.features.stage_types import CATEGORICAL_KIND, MultiColumnSpec, register


class _BucketParams(HasOutputSuffix, HasNumBuckets, HasRelativeError):
    suffix = "_bkt"

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(numBuckets=10, relativeError=0.001)


class QuantileBucketizer(Estimator, _BucketParams, DefaultParamsReadable, DefaultParamsWritable):
    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None, numBuckets=10, relativeError=0.001):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None, numBuckets=10, relativeError=0.001):
        return self._set(**self._input_kwargs)

    def _fit(self, df):
        cols, n = list(self.getInputCols()), self.getNumBuckets()
        probs = [i / n for i in range(1, n)]
        casted = df.select(*[F.col(f"`{c}`").cast("double").alias(c) for c in cols])
        quantiles = casted.approxQuantile(cols, probs, self.getOrDefault(self.relativeError)) if probs else []
        # equal quantiles (a mass of zeros) collapse into one split: no empty buckets
        splits = {c: sorted(set(q)) for c, q in zip(cols, quantiles or [[]] * len(cols), strict=True)}
        model = QuantileBucketizerModel()
        self._copyValues(model)
        return model.setState({"splits": splits})


class QuantileBucketizerModel(Model, _BucketParams, StatefulModel):
    def __init__(self):
        super().__init__()

    def splits(self) -> dict[str, list[float]]:
        return self.getState()["splits"]

    def vocabSizes(self) -> dict[str, int]:
        """Values an output takes: 0 (missing) and 1..len(splits)+1."""
        return {
            dst: len(self.splits()[src]) + 2 for src, dst in zip(self.getInputCols(), self.outputNames(), strict=True)
        }

    def _transform(self, df):
        out = {}
        for src, dst in zip(self.getInputCols(), self.outputNames(), strict=True):
            c = F.col(f"`{src}`").cast("double")
            splits = self.splits()[src]
            expr = F.when(c.isNull() | F.isnan(c), F.lit(0))
            for i in range(len(splits) - 1, -1, -1):  # highest split first: the first match wins
                expr = expr.when(c >= splits[i], F.lit(i + 2))
            out[dst] = expr.otherwise(F.lit(1)).cast("int")
        return df.withColumns(out)


@register("bucketize")
@dataclass(frozen=True)
class BucketizeSpec(MultiColumnSpec):
    """numeric inputs -> int bucket outputs (0 = missing, 1..num_buckets)."""

    suffix = _BucketParams.suffix
    output_type = ("int", CATEGORICAL_KIND)
    inputs: list[str]
    outputs: list[str] | None = None
    num_buckets: int = 10
    relative_error: float = 0.001

    def validate(self) -> None:
        if self.num_buckets < 2:
            raise ValueError(f"num_buckets must be at least 2, got {self.num_buckets}")
        if not 0 < self.relative_error < 1:
            raise ValueError(f"relative_error must be in (0, 1), got {self.relative_error}")
        super().validate()

    def reserved_indices(self):
        return {"missing": 0}

    def build(self, label):
        return QuantileBucketizer(
            **self.column_params(), numBuckets=self.num_buckets, relativeError=self.relative_error
        )
