"""The sign of numeric columns as a category (`type: sign`; docs/adding-a-stage.md).

Output per input: 0 missing (null or NaN), 1 negative, 2 zero, 3 positive: a categorical field a model
embeds. A real stage is this file in pipelines/features/stages/; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasOutputSuffix
from pipelines.features.stage_types import CATEGORICAL_KIND, MultiColumnSpec, register


class SignTransform(Transformer, HasOutputSuffix, DefaultParamsReadable, DefaultParamsWritable):
    suffix = "_sign"  # default output names: <input>_sign

    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None):
        super().__init__()
        self._set(**self._input_kwargs)

    def vocabSizes(self) -> dict[str, int]:  # a categorical output's values, for the feature map
        return {out: 4 for out in self.outputNames()}

    def _transform(self, df):  # column expressions only: no Python on the row path
        out = {}
        for src, dst in zip(self.getInputCols(), self.outputNames(), strict=True):
            c = F.col(f"`{src}`").cast("double")
            out[dst] = (F.when(c.isNull() | F.isnan(c), 0).when(c < 0, 1).when(c == 0, 2).otherwise(3)).cast("int")
        return df.withColumns(out)


@register("sign")  # the pipeline YAML's `type:`
@dataclass(frozen=True)
class SignSpec(MultiColumnSpec):  # its fields are the YAML `params:`, validated strictly
    """numeric inputs -> int categories 0 missing, 1 negative, 2 zero, 3 positive."""

    suffix = SignTransform.suffix
    output_type = ("int", CATEGORICAL_KIND)  # Spark type and kind of every output
    inputs: list[str]
    outputs: list[str] | None = None  # one name per input; default <input>_sign

    def reserved_indices(self):
        return {"missing": 0}

    def build(self, label):
        return SignTransform(**self.column_params())
