"""OneHotAssembler: categorical indices (one-hot) and numeric values into one sparse vector for LR.

The feature map already fixes every categorical field's vocabulary size, so nothing is fitted:
field f's local index i lands at slot offset_f + i, numeric fields follow the one-hot block.

A field wider than `maxFieldDim` = m (a hashed field of 2^18 buckets, say) is folded to m slots:
index i >= m goes to 2 + (i - 2) mod (m - 2), so 0 (missing) and 1 (unknown) keep slots of their own.
Spark's LogisticRegression ships dense arrays of the whole dimension with every iteration's tasks,
so a million-wide space costs ~80 MB per iteration however few the rows.

It runs with `mapInArrow` over whole batches (numpy, no per-row Python) and is saved with DefaultParams.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable

from pipelines.gbdt.leaf_encoder import _arrow_schema, sparse_vector_array, vector_field


class OneHotAssembler(Transformer, DefaultParamsReadable, DefaultParamsWritable):
    categoricalCols = Param(
        Params._dummy(),
        "categoricalCols",
        "int columns holding local indices",
        typeConverter=TypeConverters.toListString,
    )
    categoricalSizes = Param(
        Params._dummy(),
        "categoricalSizes",
        "vocabulary size of each categorical column",
        typeConverter=TypeConverters.toListInt,
    )
    numericCols = Param(
        Params._dummy(), "numericCols", "double columns appended as values", typeConverter=TypeConverters.toListString
    )
    outputCol = Param(Params._dummy(), "outputCol", "output sparse vector", typeConverter=TypeConverters.toString)
    maxFieldDim = Param(
        Params._dummy(),
        "maxFieldDim",
        "fold wider fields to this many slots (0 = never)",
        typeConverter=TypeConverters.toInt,
    )

    @keyword_only
    def __init__(
        self, *, categoricalCols=None, categoricalSizes=None, numericCols=None, outputCol="features", maxFieldDim=0
    ):
        super().__init__()
        self._setDefault(categoricalCols=[], categoricalSizes=[], numericCols=[], outputCol="features", maxFieldDim=0)
        self._set(**self._input_kwargs)

    @classmethod
    def from_feature_map(cls, fm, fields: list[str] | None, output_col: str, max_field_dim: int = 0) -> OneHotAssembler:
        chosen = [f for f in fm.fields if fields is None or f.name in fields]
        cats = [f for f in chosen if f.kind == "categorical"]
        nums = [f for f in chosen if f.kind == "numeric"]
        return cls(
            categoricalCols=[f.name for f in cats],
            categoricalSizes=[f.vocab_size for f in cats],
            numericCols=[f.name for f in nums],
            outputCol=output_col,
            maxFieldDim=max_field_dim,
        )

    def slot_sizes(self) -> np.ndarray:
        """Slots of each categorical column after folding."""
        sizes = np.array(self.getOrDefault(self.categoricalSizes), dtype=np.int64)
        cap = self.getOrDefault(self.maxFieldDim)
        return np.minimum(sizes, cap) if cap > 0 else sizes

    def size(self) -> int:
        return int(self.slot_sizes().sum()) + len(self.getOrDefault(self.numericCols))

    def _transform(self, df):
        from pyspark.sql.types import StructType

        cats, nums = self.getOrDefault(self.categoricalCols), self.getOrDefault(self.numericCols)
        sizes = np.array(self.getOrDefault(self.categoricalSizes), dtype=np.int64)
        slots = self.slot_sizes()
        out = self.getOrDefault(self.outputCol)
        if len(sizes) != len(cats):
            raise ValueError("OneHotAssembler: categoricalSizes must have one size per categorical column")
        offsets = np.concatenate([[0], np.cumsum(slots)[:-1]]).astype(np.int64)
        n_cat = int(slots.sum())
        total = n_cat + len(nums)
        kept = [f for f in df.schema.fields if f.name != out]
        names = [f.name for f in kept]
        out_field = vector_field(out, total)
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
                        raise ValueError(
                            f"column {c}: index {local[bad][0]} outside its vocabulary "
                            f"[0, {sizes[j]}) (feature map and feat table disagree)"
                        )
                    if slots[j] < sizes[j]:
                        local = np.where(local < slots[j], local, 2 + (local - 2) % (slots[j] - 2))
                    idx[:, j] = offsets[j] + local
                for j, c in enumerate(nums):
                    idx[:, k + j] = n_cat + j
                    val[:, k + j] = np.nan_to_num(batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64))
                vec = sparse_vector_array(total, idx, val)
                yield pa.RecordBatch.from_arrays(
                    [batch.column(c) for c in names] + [vec], schema=_arrow_schema(batch, names, [out_field])
                )

        return df.mapInArrow(assemble, StructType(kept + [out_field]))
