"""Signed log transform `sign(x) * log1p(|x|)` (`type: log`): tames the heavy tails of counts."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasOutputSuffix
from pipelines.features.stage_types import MultiColumnSpec, register


class LogTransform(Transformer, HasOutputSuffix, DefaultParamsReadable, DefaultParamsWritable):
    """Null stays null; negative values keep their sign, so the transform is monotone."""

    suffix = "_log"

    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None):
        return self._set(**self._input_kwargs)

    def _transform(self, df):
        out = {}
        for src, dst in zip(self.getInputCols(), self.outputNames(), strict=True):
            c = F.col(f"`{src}`").cast("double")
            out[dst] = F.signum(c) * F.log1p(F.abs(c))
        return df.withColumns(out)


@register("log")
@dataclass(frozen=True)
class LogSpec(MultiColumnSpec):
    """numeric inputs -> double outputs."""

    suffix = LogTransform.suffix
    inputs: list[str]
    outputs: list[str] | None = None

    def build(self, label):
        return LogTransform(**self.column_params())
