"""Clip numeric columns to [lower, upper] (`type: clip`).

The smallest complete stage: a Transformer with Params, a spec that the YAML validates, registered
under its type name. docs/adding-a-stage.md explains writing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasOutputSuffix
from pipelines.features.stage_types import MultiColumnSpec, register


class ClipTransform(Transformer, HasOutputSuffix, DefaultParamsReadable, DefaultParamsWritable):
    """Values below `lower` become `lower`, above `upper` become `upper`; null stays null."""

    suffix = "_clip"
    lower = Param(Params._dummy(), "lower", "lower bound (none: unbounded)", typeConverter=TypeConverters.toFloat)
    upper = Param(Params._dummy(), "upper", "upper bound (none: unbounded)", typeConverter=TypeConverters.toFloat)

    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None, lower=None, upper=None):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None, lower=None, upper=None):
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    def _transform(self, df):
        lo = self.getOrDefault(self.lower) if self.isDefined(self.lower) else None
        hi = self.getOrDefault(self.upper) if self.isDefined(self.upper) else None
        out = {}
        for src, dst in zip(self.getInputCols(), self.outputNames(), strict=True):
            c = F.col(f"`{src}`").cast("double")
            if lo is not None:
                c = F.when(c < lo, F.lit(lo)).otherwise(c)
            if hi is not None:
                c = F.when(c > hi, F.lit(hi)).otherwise(c)
            out[dst] = c
        return df.withColumns(out)


@register("clip")
@dataclass(frozen=True)
class ClipSpec(MultiColumnSpec):
    """numeric inputs -> double outputs within [lower, upper]."""

    suffix = ClipTransform.suffix
    inputs: list[str]
    outputs: list[str] | None = None
    lower: float | None = None
    upper: float | None = None

    def validate(self) -> None:
        if self.lower is None and self.upper is None:
            raise ValueError("set lower, upper or both")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower {self.lower} is above upper {self.upper}")
        super().validate()

    def build(self, label):
        return ClipTransform(**self.column_params(), lower=self.lower, upper=self.upper)
