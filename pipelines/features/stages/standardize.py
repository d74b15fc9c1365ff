"""Standardise numeric columns with statistics of the fit window (`type: standardize`).

Output: (x - mean) / std, clipped to [-clip, clip]. Missing inputs (null, NaN, +-inf) become 0 (the
mean) and, with `indicator`, `<output>_missing` is 1. The deep CTR models multiply every numeric value
into an embedding vector that enters the FM and cross products: a value of 14 (log1p of a count of
10^6) there saturates the output, a value within +-5 does not. Mean and standard deviation of all
columns come from one aggregation over the fitting rows, non-finite values excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasOutputSuffix
from pipelines.features.persist import StatefulModel
from pipelines.features.stage_types import MultiColumnSpec, register


class _StandardizeParams(HasOutputSuffix):
    suffix = "_std"
    clip = Param(
        Params._dummy(),
        "clip",
        "outputs are clipped to [-clip, clip] (0: no clipping)",
        typeConverter=TypeConverters.toFloat,
    )
    addIndicator = Param(
        Params._dummy(),
        "addIndicator",
        "also output <output>_missing (1 where the input is null, NaN or infinite)",
        typeConverter=TypeConverters.toBoolean,
    )

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(clip=5.0, addIndicator=False)

    def indicatorNames(self) -> list[str]:
        return [f"{c}_missing" for c in self.outputNames()] if self.getOrDefault(self.addIndicator) else []


def _missing(c):
    return c.isNull() | F.isnan(c) | (F.abs(c) == F.lit(float("inf")))


def _value(name: str):
    return F.col(f"`{name}`").cast("double")


class Standardizer(Estimator, _StandardizeParams, DefaultParamsReadable, DefaultParamsWritable):
    """Fits each column's mean and population standard deviation over its finite values."""

    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None, clip=5.0, addIndicator=False):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None, clip=5.0, addIndicator=False):
        return self._set(**self._input_kwargs)

    def _fit(self, df):
        cols = list(self.getInputCols())
        finite = [F.when(~_missing(_value(c)), _value(c)) for c in cols]
        row = df.agg(*[a for v in finite for a in (F.avg(v), F.stddev_pop(v))]).first()  # one pass, every column
        means, stds = {}, {}
        for i, c in enumerate(cols):
            mean, std = row[2 * i], row[2 * i + 1]
            means[c] = float(mean) if mean is not None else 0.0
            # a constant (or never present) column would divide by 0: it centres to 0 instead
            stds[c] = float(std) if std else 1.0
        model = StandardizerModel()
        self._copyValues(model)
        return model.setState({"mean": means, "std": stds})


class StandardizerModel(Model, _StandardizeParams, StatefulModel):
    def __init__(self):
        super().__init__()

    def means(self) -> dict[str, float]:
        return self.getState()["mean"]

    def stds(self) -> dict[str, float]:
        return self.getState()["std"]

    def vocabSizes(self) -> dict[str, int]:
        return {c: 2 for c in self.indicatorNames()}

    def _transform(self, df):
        means, stds, clip = self.means(), self.stds(), self.getOrDefault(self.clip)
        indicators = dict(zip(self.getInputCols(), self.indicatorNames(), strict=False))
        out = {}
        for src, dst in zip(self.getInputCols(), self.outputNames(), strict=True):
            c = _value(src)
            z = (c - F.lit(means[src])) / F.lit(stds[src])
            if clip > 0:
                z = F.least(F.greatest(z, F.lit(-clip)), F.lit(clip))
            out[dst] = F.when(_missing(c), F.lit(0.0)).otherwise(z)
            if src in indicators:
                out[indicators[src]] = _missing(c).cast("int")
        return df.withColumns(out)


@register("standardize")
@dataclass(frozen=True)
class StandardizeSpec(MultiColumnSpec):
    """numeric inputs -> double (x - mean) / std within [-clip, clip], missing -> 0 (+ `<output>_missing`)."""

    suffix = _StandardizeParams.suffix
    inputs: list[str]
    outputs: list[str] | None = None
    clip: float | None = 5.0  # null: no clipping
    indicator: bool = False

    def validate(self) -> None:
        if self.clip is not None and self.clip <= 0:
            raise ValueError(f"clip must be > 0 (or null: no clipping), got {self.clip}")
        super().validate()

    def build(self, label):
        return Standardizer(**self.column_params(), clip=self.clip or 0.0, addIndicator=self.indicator)
