"""GBDTLeafEncoderModel: the leaf each row reaches in every tree, as one sparse one-hot vector.

A pyspark.ml Transformer usable inside a PipelineModel. It runs on executors with `mapInArrow`: a
whole Arrow batch becomes one float matrix, the booster predicts the leaves of all its rows at once
and the sparse vectors are assembled with numpy (no Python loop over rows, nothing collected). The
output vector has `total_leaves` slots: tree t's leaves occupy [offset_t, offset_t + n_leaves_t),
so every row has exactly one 1.0 per tree. Optionally the booster's own probability is emitted too
(the GBDT-alone model).

Persistence follows xgboost.spark's writer: Params in <path>/metadata, the booster (xgboost UBJSON
or LightGBM text) as a one-row Parquet file in <path>/data/booster, through Spark (any Hadoop path).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols

from pipelines.core.errors import DataError
from pipelines.features.persist import StatefulModel
from pipelines.gbdt.booster import Booster

VECTOR_FIELDS = ["type", "size", "indices", "values"]


def sparse_vector_array(size: int, indices: np.ndarray, values: np.ndarray | None = None) -> pa.StructArray:
    """Arrow form of pyspark.ml's VectorUDT (a SparseVector per row) from a (rows, nnz) index matrix."""
    rows, nnz = indices.shape
    offsets = pa.array(np.arange(0, rows * nnz + 1, nnz, dtype=np.int32))
    vals = np.ones(rows * nnz) if values is None else values.reshape(-1).astype(np.float64)
    return pa.StructArray.from_arrays(
        [
            pa.array(np.zeros(rows, dtype=np.int8)),
            pa.array(np.full(rows, size, dtype=np.int32)),
            pa.ListArray.from_arrays(offsets, pa.array(indices.reshape(-1).astype(np.int32))),
            pa.ListArray.from_arrays(offsets, pa.array(vals)),
        ],
        names=VECTOR_FIELDS,
    )


def vector_field(name: str, size: int):
    """A VectorUDT column of `size` slots, its size in Spark ML's attribute metadata: estimators downstream
    (VectorAssembler, LogisticRegression) read it there instead of running a job to look at a first row,
    which stops the Arrow stream early and makes the Python worker print a BrokenPipeError traceback."""
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import StructField

    return StructField(name, VectorUDT(), metadata={"ml_attr": {"num_attrs": int(size)}})


def batch_matrix(batch: pa.RecordBatch, cols: list[str]) -> np.ndarray:
    """(rows, len(cols)) float32 matrix of numeric Arrow columns; nulls become NaN (missing)."""
    out = np.empty((batch.num_rows, len(cols)), dtype=np.float32)
    for j, c in enumerate(cols):
        out[:, j] = batch.column(c).to_numpy(zero_copy_only=False)
    return out


class HasLeafEncoderParams(HasInputCols):
    """Params shared by the GBDTLeafEncoder Estimator and the Model it fits."""

    leavesCol = Param(
        Params._dummy(),
        "leavesCol",
        "output sparse vector of one-hot leaves ('' = none)",
        typeConverter=TypeConverters.toString,
    )
    probabilityCol = Param(
        Params._dummy(),
        "probabilityCol",
        "output booster probability ('' = none)",
        typeConverter=TypeConverters.toString,
    )
    backend = Param(Params._dummy(), "backend", "xgboost or lightgbm", typeConverter=TypeConverters.toString)


class GBDTLeafEncoderModel(Transformer, HasLeafEncoderParams, StatefulModel):
    @keyword_only
    def __init__(self, *, inputCols=None, leavesCol="leaves", probabilityCol="", backend="xgboost"):
        super().__init__()
        self._setDefault(leavesCol="leaves", probabilityCol="", backend="xgboost")
        self._set(**self._input_kwargs)

    @classmethod
    def from_booster(
        cls,
        backend: str,
        raw: bytes,
        input_cols: list[str],
        leaves_col: str = "leaves",
        probability_col: str = "",
        fit_summary: dict | None = None,
    ) -> GBDTLeafEncoderModel:
        model = cls(inputCols=input_cols, leavesCol=leaves_col, probabilityCol=probability_col, backend=backend)
        state = {"backend": backend, **({"fit": fit_summary} if fit_summary else {})}
        return model.setState(state, {"booster": pd.DataFrame({"raw": [raw]})})

    def fitSummary(self) -> dict:
        """What the GBDTLeafEncoder recorded when it fitted the trees: the split policy, the days or the
        fraction of each side, and how many rows the trees (`tree_rows`) and the LR side (`lr_rows`) had.
        Empty for a model built straight from a booster."""
        return dict(self.getState().get("fit", {}))

    def copyWith(self, **params) -> GBDTLeafEncoderModel:
        """The same booster with other params (e.g. probability output instead of leaves)."""
        other = self.copy()
        other._set(**params)
        return other.setState(self.getState(), self.getFrames())

    @property
    def booster_bytes(self) -> bytes:
        return bytes(self.getFrames()["booster"]["raw"].iloc[0])

    def booster(self) -> Booster:
        return Booster.cached(self.getOrDefault(self.backend), self.booster_bytes)

    def numLeaves(self) -> int:
        return self.booster().total_leaves

    def _transform(self, df):
        from pyspark.sql.types import DoubleType, StructField, StructType

        cols = self.getInputCols()
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(
                f"GBDT leaf encoder: input columns {missing} are not in the DataFrame (it has {', '.join(df.columns)})"
            )
        leaves_col, prob_col = self.getOrDefault(self.leavesCol), self.getOrDefault(self.probabilityCol)
        out_fields = [vector_field(leaves_col, self.numLeaves())] if leaves_col else []
        out_fields += [StructField(prob_col, DoubleType())] if prob_col else []
        if not out_fields:
            raise DataError("GBDT leaf encoder: set leavesCol or probabilityCol")
        kept = [f for f in df.schema.fields if f.name not in {f.name for f in out_fields}]
        schema = StructType(kept + out_fields)
        kept_names = [f.name for f in kept]
        backend, raw = self.getOrDefault(self.backend), self.booster_bytes

        def encode(batches):
            booster = Booster.cached(backend, raw)
            for batch in batches:
                X = batch_matrix(batch, cols)
                arrays = [batch.column(c) for c in kept_names]
                if leaves_col:
                    arrays.append(sparse_vector_array(booster.total_leaves, booster.leaves(X)))
                if prob_col:
                    arrays.append(pa.array(booster.probability(X)))
                yield pa.RecordBatch.from_arrays(arrays, schema=_arrow_schema(batch, kept_names, out_fields))

        return df.select(*[f"`{c}`" for c in kept_names]).mapInArrow(encode, schema)


def _arrow_schema(batch: pa.RecordBatch, kept: list[str], out_fields) -> pa.Schema:
    fields = [batch.schema.field(c) for c in kept]
    for f in out_fields:
        if f.dataType.typeName() == "double":
            fields.append(pa.field(f.name, pa.float64()))
        else:
            fields.append(
                pa.field(
                    f.name,
                    pa.struct(
                        [
                            ("type", pa.int8()),
                            ("size", pa.int32()),
                            ("indices", pa.list_(pa.int32())),
                            ("values", pa.list_(pa.float64())),
                        ]
                    ),
                )
            )
    return pa.schema(fields)
