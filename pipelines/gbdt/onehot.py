"""OneHotAssembler: categorical indices (one-hot) and numeric values into one sparse vector for LR.

The feature map already fixes every categorical field's vocabulary size, so nothing is fitted:
field f's local index i lands at slot offset_f + i, numeric fields follow the one-hot block. It runs
with `mapInArrow` over whole batches (numpy, no per-row Python) and is saved with DefaultParams.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable

from pipelines.gbdt.leaf_encoder import _arrow_schema, sparse_vector_array


class OneHotAssembler(Transformer, DefaultParamsReadable, DefaultParamsWritable):
    categoricalCols = Param(Params._dummy(), "categoricalCols", "int columns holding local indices",
                            typeConverter=TypeConverters.toListString)
    categoricalSizes = Param(Params._dummy(), "categoricalSizes", "vocabulary size of each categorical column",
                             typeConverter=TypeConverters.toListInt)
    numericCols = Param(Params._dummy(), "numericCols", "double columns appended as values",
                        typeConverter=TypeConverters.toListString)
    outputCol = Param(Params._dummy(), "outputCol", "output sparse vector", typeConverter=TypeConverters.toString)

    @keyword_only
    def __init__(self, *, categoricalCols=None, categoricalSizes=None, numericCols=None, outputCol="features"):
        super().__init__()
        self._setDefault(categoricalCols=[], categoricalSizes=[], numericCols=[], outputCol="features")
        self._set(**self._input_kwargs)

    @classmethod
    def from_feature_map(cls, fm, fields: list[str] | None, output_col: str) -> OneHotAssembler:
        chosen = [f for f in fm.fields if fields is None or f.name in fields]
        cats = [f for f in chosen if f.kind == "categorical"]
        nums = [f for f in chosen if f.kind == "numeric"]
        return cls(categoricalCols=[f.name for f in cats], categoricalSizes=[f.vocab_size for f in cats],
                   numericCols=[f.name for f in nums], outputCol=output_col)

    def size(self) -> int:
        return sum(self.getOrDefault(self.categoricalSizes)) + len(self.getOrDefault(self.numericCols))

    def _transform(self, df):
        from pyspark.ml.linalg import VectorUDT
        from pyspark.sql.types import StructField, StructType

        cats, nums = self.getOrDefault(self.categoricalCols), self.getOrDefault(self.numericCols)
        sizes = np.array(self.getOrDefault(self.categoricalSizes), dtype=np.int64)
        out = self.getOrDefault(self.outputCol)
        if len(sizes) != len(cats):
            raise ValueError("OneHotAssembler: categoricalSizes must have one size per categorical column")
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        total = int(sizes.sum()) + len(nums)
        kept = [f for f in df.schema.fields if f.name != out]
        names = [f.name for f in kept]
        out_field = StructField(out, VectorUDT())
        k, width = len(cats), len(cats) + len(nums)

        def assemble(batches):
            for batch in batches:
                n = batch.num_rows
                idx = np.empty((n, width), dtype=np.int64)
                val = np.ones((n, width), dtype=np.float64)
                for j, c in enumerate(cats):
                    local = batch.column(c).to_numpy(zero_copy_only=False)
                    bad = (local < 0) | (local >= sizes[j]) | np.isnan(local.astype(np.float64))
                    if bad.any():
                        raise ValueError(f"column {c}: index {local[bad][0]} outside its vocabulary "
                                         f"[0, {sizes[j]}) (feature map and feat table disagree)")
                    idx[:, j] = offsets[j] + local
                for j, c in enumerate(nums):
                    idx[:, k + j] = sizes.sum() + j
                    val[:, k + j] = np.nan_to_num(batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64))
                vec = sparse_vector_array(total, idx, val)
                yield pa.RecordBatch.from_arrays([batch.column(c) for c in names] + [vec],
                                                 schema=_arrow_schema(batch, names, [out_field]))

        return df.mapInArrow(assemble, StructType(kept + [out_field]))

