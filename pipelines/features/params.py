"""Param mixins shared by the feature stages (camelCase names, as pyspark.ml's own mixins).

Stages reuse pyspark's shared mixins where one exists (input/output columns, label, relative error)
so that they behave like built-in stages in Pipeline, CrossValidator and persistence.
"""

from __future__ import annotations

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols, HasLabelCol, HasOutputCols, HasRelativeError

from pipelines.features.stage_types import output_names

__all__ = [
    "HasInputCols",
    "HasLabelCol",
    "HasMinCount",
    "HasNumBuckets",
    "HasOutputCols",
    "HasRelativeError",
    "HasTopK",
    "HasWindowCol",
    "output_names",
]


class HasOutputSuffix(HasInputCols, HasOutputCols):
    """Input columns and output columns, the outputs defaulting to `<input><suffix>`."""

    suffix = ""

    def outputNames(self) -> list[str]:
        if self.isSet(self.outputCols):
            outs = self.getOutputCols()
            if len(outs) != len(self.getInputCols()):
                raise ValueError(
                    f"{type(self).__name__}: {len(outs)} outputCols for {len(self.getInputCols())} inputCols"
                )
            return list(outs)
        return output_names(list(self.getInputCols()), self.suffix)


class HasMinCount(Params):
    minCount = Param(
        Params._dummy(),
        "minCount",
        "keep a value only if it occurs at least this many times in the fitting data",
        typeConverter=TypeConverters.toInt,
    )

    def getMinCount(self) -> int:
        return self.getOrDefault(self.minCount)


class HasTopK(Params):
    topK = Param(
        Params._dummy(),
        "topK",
        "keep at most the k most frequent values per column (0: no cap)",
        typeConverter=TypeConverters.toInt,
    )

    def getTopK(self) -> int:
        return self.getOrDefault(self.topK)


class HasNumBuckets(Params):
    numBuckets = Param(Params._dummy(), "numBuckets", "number of buckets", typeConverter=TypeConverters.toInt)

    def getNumBuckets(self) -> int:
        return self.getOrDefault(self.numBuckets)


class HasWindowCol(Params):
    windowCol = Param(
        Params._dummy(),
        "windowCol",
        "column naming the day of a row (rows of fitted days are encoded out-of-fold)",
        typeConverter=TypeConverters.toString,
    )

    def getWindowCol(self) -> str:
        return self.getOrDefault(self.windowCol)
