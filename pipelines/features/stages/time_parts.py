"""Hour of day and day of week of a time column (`type: time_parts`): no fitting, fixed vocabularies.

Click logs carry their time as a timestamp, a date, or a number / string in a layout such as Avazu's
`hour` (YYMMDDHH, `format: yyMMddHH`). Its raw value is a new category every hour and means nothing on
the next day; its parts recur: `<input>_hour` (1..24 for hours 0..23) and `<input>_weekday` (1..7,
Monday = 1), 0 when the input is missing or does not parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.stage_types import CATEGORICAL_KIND, OutputColumn, StageSpec, register

_SIZES = {"hour": 25, "weekday": 8}  # reserved 0 (missing) + the values


class TimeParts(Transformer, HasInputCols, DefaultParamsReadable, DefaultParamsWritable):
    timeFormat = Param(
        Params._dummy(),
        "timeFormat",
        "Java datetime pattern of non-timestamp inputs ('' = Spark's default timestamp parsing)",
        typeConverter=TypeConverters.toString,
    )
    parts = Param(Params._dummy(), "parts", "hour and/or weekday", typeConverter=TypeConverters.toListString)

    @keyword_only
    def __init__(self, *, inputCols=None, timeFormat="", parts=None):
        super().__init__()
        self._setDefault(timeFormat="", parts=["hour", "weekday"])
        self._set(**self._input_kwargs)

    def outputNames(self) -> list[str]:
        return [f"{c}_{p}" for c in self.getInputCols() for p in self.getOrDefault(self.parts)]

    def vocabSizes(self) -> dict[str, int]:
        return {f"{c}_{p}": _SIZES[p] for c in self.getInputCols() for p in self.getOrDefault(self.parts)}

    def _transform(self, df):
        fmt, types, out = self.getOrDefault(self.timeFormat), dict(df.dtypes), {}
        for c in self.getInputCols():
            col = F.col(f"`{c}`")
            if types[c] in ("timestamp", "timestamp_ntz", "date"):
                ts = col.cast("timestamp")
            else:
                text = col.cast("string")
                ts = F.try_to_timestamp(text, F.lit(fmt)) if fmt else F.try_to_timestamp(text)
            for p in self.getOrDefault(self.parts):
                value = F.hour(ts) + 1 if p == "hour" else F.weekday(ts) + 1
                out[f"{c}_{p}"] = F.coalesce(value, F.lit(0)).cast("int")
        return df.withColumns(out)


@register("time_parts")
@dataclass(frozen=True)
class TimePartsSpec(StageSpec):
    """timestamp/date/int/string inputs -> int categoricals <input>_hour (1..24) and <input>_weekday (1..7);
    0 = missing or unparsable."""

    accepts = frozenset({"numeric", "string", "timestamp", "timestamp_ntz", "date"})
    inputs: list[str]
    format: str | None = None  # e.g. yyMMddHH for Avazu's hour; null for timestamp/date columns
    parts: list[Literal["hour", "weekday"]] | None = None

    def validate(self) -> None:
        if self.parts is not None and (not self.parts or len(set(self.parts)) != len(self.parts)):
            raise ValueError("parts: list hour and/or weekday once each")

    def _parts(self) -> list[str]:
        return list(self.parts or ["hour", "weekday"])

    def reserved_indices(self):
        return {"missing": 0}

    def output_columns(self, input_types):
        return [OutputColumn(f"{c}_{p}", "int", CATEGORICAL_KIND) for c in self.inputs for p in self._parts()]

    def build(self, label):
        return TimeParts(inputCols=self.inputs, timeFormat=self.format or "", parts=self._parts())
