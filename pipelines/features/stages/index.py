"""Frequency-capped categorical indexer (`type: index`).

Index 0 is reserved for a missing (null) value and 1 for an unknown one (unseen at fit time, below
`min_count`, or beyond the `top_k` most frequent values of its column); kept values get 2, 3, ... by
descending count. Fitting counts values on executors and collects the kept vocabulary only, so the
driver's memory follows min_count / top_k, not the raw cardinality (unlike StringIndexer, which
collects every distinct label).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasMinCount, HasOutputSuffix, HasTopK
from pipelines.features.persist import StatefulModel
from pipelines.features.stage_types import CATEGORICAL_KIND, MultiColumnSpec, register
from pipelines.features.vocab import (
    FIRST_INDEX,
    MISSING_INDEX,
    UNKNOWN_INDEX,
    fit_vocabulary,
    join_payload,
)


class _IndexerParams(HasOutputSuffix, HasMinCount, HasTopK):
    suffix = "_idx"

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(minCount=1, topK=0)


class FrequencyIndexer(Estimator, _IndexerParams, DefaultParamsReadable, DefaultParamsWritable):
    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None, minCount=1, topK=0):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None, minCount=1, topK=0):
        return self._set(**self._input_kwargs)

    def _fit(self, df):
        vocab = fit_vocabulary(df, list(self.getInputCols()), self.getMinCount(), self.getTopK())
        model = FrequencyIndexerModel()
        self._copyValues(model)
        return model.setState({}, {"vocab": vocab})


class FrequencyIndexerModel(Model, _IndexerParams, StatefulModel):
    def __init__(self):
        super().__init__()

    def vocabulary(self, col: str) -> list[str]:
        """Kept values of an input column in index order (index FIRST_INDEX + position)."""
        v = self.getFrames()["vocab"]
        i = list(self.getInputCols()).index(col)
        return v[v["col_id"] == i].sort_values("index")["value"].tolist()

    def vocabSizes(self) -> dict[str, int]:
        counts = self.getFrames()["vocab"]["col_id"].value_counts().to_dict()
        return {dst: int(counts.get(i, 0)) + FIRST_INDEX for i, dst in enumerate(self.outputNames())}

    def _transform(self, df):
        vocab = self.getFrames()["vocab"]
        for i, (src, dst) in enumerate(zip(self.getInputCols(), self.outputNames(), strict=True)):
            df, names = join_payload(df, src, vocab[vocab["col_id"] == i], {"index": "int"})
            df = df.withColumn(
                dst,
                F.when(F.col(f"`{src}`").isNull(), F.lit(MISSING_INDEX)).otherwise(
                    F.coalesce(F.col(names["index"]), F.lit(UNKNOWN_INDEX))
                ),
            ).drop(names["index"])
        return df


@register("index")
@dataclass(frozen=True)
class IndexSpec(MultiColumnSpec):
    """string or int inputs -> int indices (0 = missing, 1 = unknown, 2.. by frequency)."""

    suffix = _IndexerParams.suffix
    output_type = ("int", CATEGORICAL_KIND)
    accepts = frozenset({"string", "numeric"})
    inputs: list[str]
    outputs: list[str] | None = None
    min_count: int = 1
    top_k: int = 0

    def validate(self) -> None:
        if self.min_count < 1 or self.top_k < 0:
            raise ValueError("min_count must be >= 1 and top_k >= 0 (0: no cap)")
        super().validate()

    def reserved_indices(self):
        return {"missing": MISSING_INDEX, "unknown": UNKNOWN_INDEX}

    def build(self, label):
        return FrequencyIndexer(**self.column_params(), minCount=self.min_count, topK=self.top_k)
