"""Hashing for very high-cardinality columns (`type: hash`): no vocabulary, no fitting.

Output: 0 for missing, 1 + xxhash64(value) mod num_buckets otherwise. An array<string> input (a
multi-valued field) gives an array<int> of bucket ids. Nothing is unseen: every value has a bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import functions as F

from pipelines.features.params import HasNumBuckets, HasOutputSuffix
from pipelines.features.stage_types import (
    CATEGORICAL_KIND,
    MULTI_VALUED_KIND,
    MultiColumnSpec,
    OutputColumn,
    register,
    type_group,
)


def hash_bucket(values: list, num_buckets: int, salt: str):
    """1 + xxhash64(salt, values...) mod num_buckets (Spark's xxhash64: same ids on every executor)."""
    return (F.pmod(F.xxhash64(F.lit(salt), *values), F.lit(num_buckets)) + 1).cast("int")


class HashEncoder(Transformer, HasOutputSuffix, HasNumBuckets, DefaultParamsReadable, DefaultParamsWritable):
    suffix = "_hash"
    salt = Param(
        Params._dummy(),
        "salt",
        "mixed into the hash (different salts: independent collisions)",
        typeConverter=TypeConverters.toString,
    )

    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None, numBuckets=1 << 20, salt=""):
        super().__init__()
        self._setDefault(numBuckets=1 << 20, salt="")
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None, numBuckets=1 << 20, salt=""):
        return self._set(**self._input_kwargs)

    def vocabSizes(self) -> dict[str, int]:
        return {dst: self.getNumBuckets() + 1 for dst in self.outputNames()}

    def _transform(self, df):
        n, salt = self.getNumBuckets(), self.getOrDefault(self.salt)
        types = dict(df.dtypes)
        out = {}
        for src, dst in zip(self.getInputCols(), self.outputNames(), strict=True):
            c = F.col(f"`{src}`")
            if types[src].startswith("array"):
                out[dst] = F.transform(
                    F.coalesce(c, F.array()),
                    lambda v: F.when(v.isNull(), F.lit(0)).otherwise(hash_bucket([v.cast("string")], n, salt)),
                )
            else:
                out[dst] = F.when(c.isNull(), F.lit(0)).otherwise(hash_bucket([c.cast("string")], n, salt))
        return df.withColumns(out)


@register("hash")
@dataclass(frozen=True)
class HashSpec(MultiColumnSpec):
    """string/int/array inputs -> int bucket ids 0..num_buckets (0 = missing)."""

    suffix = HashEncoder.suffix
    accepts = frozenset({"string", "numeric", "array"})
    inputs: list[str]
    num_buckets: int
    outputs: list[str] | None = None
    salt: str = ""

    def validate(self) -> None:
        if self.num_buckets < 1:
            raise ValueError(f"num_buckets must be positive, got {self.num_buckets}")
        super().validate()

    def reserved_indices(self):
        return {"missing": 0}

    def output_columns(self, input_types):
        return [
            OutputColumn(o, "array<int>", MULTI_VALUED_KIND)
            if type_group(input_types.get(i, "")) == "array"
            else OutputColumn(o, "int", CATEGORICAL_KIND)
            for i, o in zip(self.inputs, self.output_names(), strict=True)
        ]

    def build(self, label):
        return HashEncoder(**self.column_params(), numBuckets=self.num_buckets, salt=self.salt)
