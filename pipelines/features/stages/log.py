"""Signed log transform `sign(x) * log1p(|x|)` (`type: log`): tames the heavy tails of counts."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasOutputSuffix, output_names
from pipelines.features.registry import NUMERIC_KIND, OutputColumn, StageSpec, register


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
class LogSpec(StageSpec):
    """numeric inputs -> double outputs."""

    inputs: list[str]
    outputs: list[str] | None = None

    def validate(self) -> None:
        if self.outputs is not None and len(self.outputs) != len(self.inputs):
            raise ValueError(f"outputs: {len(self.outputs)} names for {len(self.inputs)} inputs")

    def _outs(self) -> list[str]:
        return list(self.outputs or output_names(self.inputs, LogTransform.suffix))

    def output_columns(self, input_types):
        return [OutputColumn(o, "double", NUMERIC_KIND) for o in self._outs()]

    def build(self, label):
        return LogTransform(inputCols=self.inputs, outputCols=self._outs())
