"""Persistence of fitted stages with non-Param state (the xgboost.spark pattern).

`DefaultParamsWriter.saveMetadata` writes the Params to <path>/metadata, with the small JSON state
(fill values, splits) as extra metadata; tables (vocabularies) go beside it as Parquet in
<path>/data/<name>. The reader restores the Params, then the state and the tables. Everything goes
through Spark, so a path can be any Hadoop URI.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.ml.util import DefaultParamsReader, DefaultParamsWriter, MLReadable, MLReader, MLWritable, MLWriter


class StateWriter(MLWriter):
    def __init__(self, instance: StatefulModel) -> None:
        super().__init__()
        self.instance = instance

    def saveImpl(self, path: str) -> None:
        spark = self.sparkSession
        state, frames = self.instance.getState(), self.instance.getFrames()
        extra = {"ctrflowState": state, "ctrflowFrames": sorted(frames)}
        DefaultParamsWriter.saveMetadata(self.instance, path, spark, extraMetadata=extra)
        for name, pdf in frames.items():
            spark.createDataFrame(pdf).coalesce(1).write.parquet(f"{path}/data/{name}")


class StateReader(MLReader):
    def __init__(self, cls: type) -> None:
        super().__init__()
        self.cls = cls

    def load(self, path: str) -> StatefulModel:
        spark = self.sparkSession
        metadata = DefaultParamsReader.loadMetadata(path, spark)
        instance = self.cls()
        instance._resetUid(metadata["uid"])
        DefaultParamsReader.getAndSetParams(instance, metadata)
        frames = {name: spark.read.parquet(f"{path}/data/{name}").toPandas() for name in metadata["ctrflowFrames"]}
        instance.setState(metadata["ctrflowState"], frames)
        return instance


class StatefulModel(MLReadable, MLWritable):
    """Mixin for a fitted Model whose state is a JSON-able dict plus named pandas tables."""

    _state: dict[str, Any]
    _frames: dict[str, pd.DataFrame]

    def getState(self) -> dict[str, Any]:
        return getattr(self, "_state", {})

    def getFrames(self) -> dict[str, pd.DataFrame]:
        return getattr(self, "_frames", {})

    def setState(self, state: dict[str, Any], frames: dict[str, pd.DataFrame] | None = None):
        self._state = state
        self._frames = frames or {}
        return self

    def write(self) -> MLWriter:
        return StateWriter(self)

    @classmethod
    def read(cls) -> MLReader:
        return StateReader(cls)
