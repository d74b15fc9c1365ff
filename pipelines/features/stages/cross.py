"""Feature crosses of two or more columns (`type: cross`), hashed or frequency-indexed.

The cross of a row is the tuple of its input values (a null input is a value of its own). With
`num_buckets` the tuple is hashed (no fitting); without, the tuples are counted like `index` does
(min_count / top_k, 0 = every input missing, 1 = unknown tuple).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param.shared import HasInputCols, HasOutputCol
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasMinCount, HasNumBuckets, HasTopK
from pipelines.features.persist import StatefulModel
from pipelines.features.stage_types import CATEGORICAL_KIND, OutputColumn, StageSpec, register
from pipelines.features.stages.hashing import hash_bucket
from pipelines.features.vocab import (
    FIRST_INDEX,
    MISSING_INDEX,
    UNKNOWN_INDEX,
    fit_vocabulary,
    join_payload,
)

_SEP, _NULL = "\u0001", "\u0000"


class _CrossParams(HasInputCols, HasOutputCol, HasNumBuckets, HasMinCount, HasTopK):
    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(numBuckets=0, minCount=1, topK=0)

    def _parts(self):
        return [F.coalesce(F.col(f"`{c}`").cast("string"), F.lit(_NULL)) for c in self.getInputCols()]

    def _all_missing(self):
        cond = F.lit(True)
        for c in self.getInputCols():
            cond = cond & F.col(f"`{c}`").isNull()
        return cond


class FeatureCross(Estimator, _CrossParams, DefaultParamsReadable, DefaultParamsWritable):
    @keyword_only
    def __init__(self, *, inputCols=None, outputCol=None, numBuckets=0, minCount=1, topK=0):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCol=None, numBuckets=0, minCount=1, topK=0):
        return self._set(**self._input_kwargs)

    def _fit(self, df):
        model = FeatureCrossModel()
        self._copyValues(model)
        if self.getNumBuckets() > 0:  # hashed: nothing to learn
            return model.setState({})
        keys = df.select(F.concat_ws(_SEP, *self._parts()).alias("key"))
        return model.setState({}, {"vocab": fit_vocabulary(keys, ["key"], self.getMinCount(), self.getTopK())})


class FeatureCrossModel(Model, _CrossParams, StatefulModel):
    def __init__(self):
        super().__init__()

    def vocabSizes(self) -> dict[str, int]:
        n = self.getNumBuckets()
        size = n + 1 if n > 0 else len(self.getFrames()["vocab"]) + FIRST_INDEX
        return {self.getOutputCol(): size}

    def _transform(self, df):
        out, n = self.getOutputCol(), self.getNumBuckets()
        if n > 0:
            return df.withColumn(
                out, F.when(self._all_missing(), F.lit(MISSING_INDEX)).otherwise(hash_bucket(self._parts(), n, "cross"))
            )
        tmp = f"__cross_{self.uid}"
        df, names = join_payload(
            df.withColumn(tmp, F.concat_ws(_SEP, *self._parts())), tmp, self.getFrames()["vocab"], {"index": "int"}
        )
        idx = F.when(self._all_missing(), F.lit(MISSING_INDEX)).otherwise(
            F.coalesce(F.col(names["index"]), F.lit(UNKNOWN_INDEX))
        )
        return df.withColumn(out, idx).drop(tmp, names["index"])


@register("cross")
@dataclass(frozen=True)
class CrossSpec(StageSpec):
    """two or more inputs -> one int column (hashed with num_buckets, else indexed)."""

    accepts = frozenset({"string", "numeric"})
    inputs: list[str]
    output: str | None = None
    num_buckets: int = 0
    min_count: int = 1
    top_k: int = 0

    def validate(self) -> None:
        if len(self.inputs) < 2:
            raise ValueError(f"inputs: a cross needs two or more columns, got {self.inputs}")
        if self.num_buckets < 0 or self.min_count < 1 or self.top_k < 0:
            raise ValueError("num_buckets must be >= 0 (0: index), min_count >= 1, top_k >= 0")

    def _out(self) -> str:
        return self.output or "_x_".join(self.inputs)

    def reserved_indices(self):
        if self.num_buckets:
            return {"missing": MISSING_INDEX}
        return {"missing": MISSING_INDEX, "unknown": UNKNOWN_INDEX}

    def output_columns(self, input_types):
        return [OutputColumn(self._out(), "int", CATEGORICAL_KIND)]

    def build(self, label):
        return FeatureCross(
            inputCols=self.inputs,
            outputCol=self._out(),
            numBuckets=self.num_buckets,
            minCount=self.min_count,
            topK=self.top_k,
        )
