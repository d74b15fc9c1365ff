"""Count encoding (`type: count_encode`): a value becomes how often it occurred in the fitting data.

Counts are kept for values seen at least `min_count` times (default 2: singletons, most of a
high-cardinality column, are not collected); any other value, unseen or missing, encodes as 0.
With `log`, the output is log1p(count).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasMinCount, HasOutputSuffix, HasTopK
from pipelines.features.persist import StatefulModel
from pipelines.features.stage_types import MultiColumnSpec, register
from pipelines.features.vocab import fit_vocabulary, join_payload


class _CountParams(HasOutputSuffix, HasMinCount, HasTopK):
    suffix = "_cnt"
    logScale = Param(Params._dummy(), "logScale", "output log1p(count)", typeConverter=TypeConverters.toBoolean)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(minCount=2, topK=0, logScale=True)


class CountEncoder(Estimator, _CountParams, DefaultParamsReadable, DefaultParamsWritable):
    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None, minCount=2, topK=0, logScale=True):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None, minCount=2, topK=0, logScale=True):
        return self._set(**self._input_kwargs)

    def _fit(self, df):
        counts = fit_vocabulary(df, list(self.getInputCols()), self.getMinCount(), self.getTopK())
        model = CountEncoderModel()
        self._copyValues(model)
        return model.setState({}, {"counts": counts[["col_id", "value", "count"]]})


class CountEncoderModel(Model, _CountParams, StatefulModel):
    def __init__(self):
        super().__init__()

    def _transform(self, df):
        counts, log_scale = self.getFrames()["counts"], self.getOrDefault(self.logScale)
        for i, (src, dst) in enumerate(zip(self.getInputCols(), self.outputNames(), strict=True)):
            df, names = join_payload(df, src, counts[counts["col_id"] == i], {"count": "bigint"})
            c = F.coalesce(F.col(names["count"]), F.lit(0)).cast("double")
            df = df.withColumn(dst, F.log1p(c) if log_scale else c).drop(names["count"])
        return df


@register("count_encode")
@dataclass(frozen=True)
class CountEncodeSpec(MultiColumnSpec):
    """string/int inputs -> double counts (log1p by default); unseen and missing -> 0."""

    suffix = _CountParams.suffix
    accepts = frozenset({"string", "numeric"})
    inputs: list[str]
    outputs: list[str] | None = None
    min_count: int = 2
    top_k: int = 0
    log: bool = True

    def validate(self) -> None:
        if self.min_count < 1 or self.top_k < 0:
            raise ValueError("min_count must be >= 1 and top_k >= 0 (0: no cap)")
        super().validate()

    def build(self, label):
        return CountEncoder(**self.column_params(), minCount=self.min_count, topK=self.top_k, logScale=self.log)
