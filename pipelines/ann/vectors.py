"""The (id, vector) rows of one day: reading, counting, sampling, Arrow batches -> float32 matrices, faiss ids.

Faiss ids are (Spark partition index << 32) + row offset in the partition, computed inside the tasks, so
the add pass and the exact-search pass agree without a shuffle or a count per partition; the id map
(faiss_id -> the table's id) is written next to the index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pipelines.ann import vector_checks
from pipelines.common import storage
from pipelines.core.errors import DataError

_PARTITION_SHIFT = 32


@dataclass(frozen=True)
class VectorStats:
    source: str  # table name or path, for messages
    ds: str
    rows: int
    dim: int


def read_day(spark, source: str, ds: dt.date, id_col: str, vector_col: str):
    """The (id, vector) columns of the ds partition of a metastore table, or of a Delta/Parquet path."""
    from pyspark.sql import functions as F

    if "/" in source or "://" in source:
        fmt = "delta" if "://" in source or storage.is_dir(f"{source.rstrip('/')}/_delta_log") else "parquet"
        df = spark.read.format(fmt).load(source)
    else:
        from pipelines.common import tables

        if not tables.table_exists(spark, source):
            raise DataError(f"embeddings table {source} does not exist")
        df = spark.table(source)
    missing = [c for c in (id_col, vector_col, "ds") if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: no column(s) {', '.join(missing)} (columns: {', '.join(df.columns)}); "
            f"set ann.id_col / ann.vector_col"
        )
    vtype = dict(df.dtypes)[vector_col]
    if vtype not in ("array<float>", "array<double>"):
        raise DataError(f"{source}.{vector_col} is {vtype}; expected array<float>")
    day = df.where(F.col("ds") == F.lit(ds.isoformat()))
    return day.select(id_col, F.col(vector_col).cast("array<float>").alias(vector_col))


def shape(df, source: str, ds: dt.date, vector_col: str) -> VectorStats:
    """Rows of the day (a count Spark answers from file metadata) and the dimension of its first non-null
    vector (0 when there is none); the empty day is an error. Every vector is checked by the add pass."""
    from pyspark.sql import functions as F

    rows = df.count()
    if rows == 0:
        vector_checks.raise_problems(f"{source} ds={ds.isoformat()}", vector_checks.VectorCounts(), "", vector_col)
    first = df.where(F.col(vector_col).isNotNull()).select(F.size(vector_col).alias("d")).first()
    return VectorStats(source=source, ds=ds.isoformat(), rows=rows, dim=int(first["d"]) if first else 0)


def validate(df, source: str, ds: dt.date, id_col: str, vector_col: str) -> VectorStats:
    """One Spark aggregation pass over the day (the retrieve job's queries): rows, null ids / vectors, null
    or NaN components, dimensions, duplicate ids; the errors of `vector_checks.raise_problems`."""
    from pyspark.sql import functions as F

    v = F.col(vector_col)
    row = df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_distinct(F.col(id_col)).alias("ids"),
        F.sum(F.col(id_col).isNull().cast("long")).alias("null_ids"),
        F.sum(v.isNull().cast("long")).alias("null_vectors"),
        F.sum(F.exists(v, lambda x: x.isNull() | F.isnan(x)).cast("long")).alias("bad_components"),
        F.min(F.when(v.isNotNull(), F.size(v))).alias("min_dim"),
        F.max(F.when(v.isNotNull(), F.size(v))).alias("max_dim"),
    ).first()
    rows, null_ids, null_vectors = row["rows"], row["null_ids"] or 0, row["null_vectors"] or 0
    dims = {} if row["max_dim"] is None else {row["max_dim"]: rows - null_vectors}
    if row["min_dim"] is not None and row["min_dim"] != row["max_dim"]:
        per_dim = df.where(v.isNotNull()).groupBy(F.size(v).alias("d")).count().collect()  # <= max_dim + 1 rows
        dims = {r["d"]: r["count"] for r in per_dim}
    duplicates = None
    if rows and row["ids"] != rows - null_ids:
        top = df.where(F.col(id_col).isNotNull()).groupBy(id_col).count().where("count > 1")
        examples = [(r[id_col], r["count"]) for r in top.orderBy(F.desc("count")).limit(3).collect()]
        duplicates = vector_checks.Duplicates(rows - null_ids - row["ids"], rows - null_ids, examples)
    counts = vector_checks.VectorCounts(
        rows=rows,
        null_ids=null_ids,
        null_vectors=null_vectors,
        bad_vectors=row["bad_components"] or 0,
        dims=dims,
    )
    vector_checks.raise_problems(f"{source} ds={ds.isoformat()}", counts, id_col, vector_col, duplicates)
    return VectorStats(source=source, ds=ds.isoformat(), rows=rows, dim=int(row["max_dim"]))


def to_matrix(column, dim: int) -> np.ndarray:
    """A pyarrow list<float> column (array or chunked) as a contiguous (rows, dim) float32 matrix."""
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        flat = chunk.flatten().to_numpy(zero_copy_only=False)
        if flat.size != len(chunk) * dim:
            raise DataError(f"vectors of this batch do not all have dimension {dim}")
        parts.append(flat.reshape(len(chunk), dim))
    if not parts:
        return np.empty((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts) if len(parts) > 1 else parts[0], dtype=np.float32)


def faiss_ids(partition: int, start: int, rows: int) -> np.ndarray:
    return (np.int64(partition) << _PARTITION_SHIFT) + np.arange(start, start + rows, dtype=np.int64)


def sample(df, vector_col: str, rows: int, total: int, seed: int, dim: int) -> np.ndarray | None:
    """About `rows` vectors drawn uniformly with Spark (bounded; only these reach the driver), shuffled; None
    when one of them is null, has a null or NaN component or another dimension than `dim` (the add pass
    then counts the day's problems: faiss must not train on them)."""
    frac = min(1.0, 1.2 * rows / max(total, 1))
    picked = df.select(vector_col) if frac >= 1.0 else df.select(vector_col).sample(False, frac, seed)
    table = picked.limit(rows).toArrow()
    counts, values = vector_checks.batch_counts(None, table.column(vector_col))
    if not counts.clean(dim):
        return None
    mat = values.reshape(table.num_rows, dim)
    return mat[np.random.default_rng(seed).permutation(len(mat))]
