"""Numeric imputation with an optional missing indicator (`type: impute`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasOutputSuffix, HasRelativeError
from pipelines.features.persist import StatefulModel
from pipelines.features.stage_types import MultiColumnSpec, register


class _ImputerParams(HasOutputSuffix, HasRelativeError):
    suffix = "_imp"
    strategy = Param(Params._dummy(), "strategy", "mean | median | constant", typeConverter=TypeConverters.toString)
    fillValue = Param(
        Params._dummy(), "fillValue", "the value of strategy 'constant'", typeConverter=TypeConverters.toFloat
    )
    addIndicator = Param(
        Params._dummy(),
        "addIndicator",
        "also output <output>_missing (1 where the input is null or NaN)",
        typeConverter=TypeConverters.toBoolean,
    )

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(strategy="median", fillValue=0.0, addIndicator=False, relativeError=0.001)

    def indicatorNames(self) -> list[str]:
        return [f"{c}_missing" for c in self.outputNames()] if self.getOrDefault(self.addIndicator) else []


def _missing(c):
    return c.isNull() | F.isnan(c)


class NumericImputer(Estimator, _ImputerParams, DefaultParamsReadable, DefaultParamsWritable):
    """Replaces null/NaN by the column's mean, approximate median or a constant, fitted once."""

    @keyword_only
    def __init__(
        self,
        *,
        inputCols=None,
        outputCols=None,
        strategy="median",
        fillValue=0.0,
        addIndicator=False,
        relativeError=0.001,
    ):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(
        self,
        *,
        inputCols=None,
        outputCols=None,
        strategy="median",
        fillValue=0.0,
        addIndicator=False,
        relativeError=0.001,
    ):
        return self._set(**self._input_kwargs)

    def _fit(self, df):
        cols = list(self.getInputCols())
        strategy = self.getOrDefault(self.strategy)
        if strategy == "constant":
            fills = [self.getOrDefault(self.fillValue)] * len(cols)
        else:
            vals = [F.when(~_missing(F.col(f"`{c}`").cast("double")), F.col(f"`{c}`").cast("double")) for c in cols]
            if strategy == "mean":
                aggs = [F.avg(v) for v in vals]
            else:
                acc = int(1 / self.getOrDefault(self.relativeError))
                aggs = [F.percentile_approx(v, 0.5, acc) for v in vals]
            row = df.agg(*aggs).first()  # one pass for every column
            fills = [float(x) if x is not None else self.getOrDefault(self.fillValue) for x in row]
        model = NumericImputerModel()
        self._copyValues(model)
        return model.setState({"fills": dict(zip(cols, fills, strict=True))})


class NumericImputerModel(Model, _ImputerParams, StatefulModel):
    def __init__(self):
        super().__init__()

    def vocabSizes(self) -> dict[str, int]:
        return {c: 2 for c in self.indicatorNames()}

    def fills(self) -> dict[str, float]:
        return self.getState()["fills"]

    def _transform(self, df):
        fills, out = self.fills(), {}
        indicators = dict(zip(self.getInputCols(), self.indicatorNames(), strict=False))
        for src, dst in zip(self.getInputCols(), self.outputNames(), strict=True):
            c = F.col(f"`{src}`").cast("double")
            out[dst] = F.when(_missing(c), F.lit(fills[src])).otherwise(c)
            if src in indicators:
                out[indicators[src]] = _missing(c).cast("int")
        return df.withColumns(out)


@register("impute")
@dataclass(frozen=True)
class ImputeSpec(MultiColumnSpec):
    """inputs -> double outputs without nulls (+ `<output>_missing` 0/1 if indicator)."""

    suffix = _ImputerParams.suffix
    inputs: list[str]
    outputs: list[str] | None = None
    strategy: Literal["mean", "median", "constant"] = "median"
    fill_value: float = 0.0
    indicator: bool = False

    def build(self, label):
        return NumericImputer(
            **self.column_params(), strategy=self.strategy, fillValue=self.fill_value, addIndicator=self.indicator
        )
