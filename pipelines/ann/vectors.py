"""The (id, vector) rows of one day: reading, validation, Arrow batches -> float32 matrices, faiss ids.

Faiss ids are (Spark partition index << 32) + row offset in the partition, computed inside the tasks, so
the add pass and the exact-search pass agree without a shuffle or a count per partition; the id map
(faiss_id -> the table's id) is written next to the index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

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


def validate(df, source: str, ds: dt.date, id_col: str, vector_col: str) -> VectorStats:
    """One aggregation pass: rows, null ids / vectors, null or NaN components, dimensions, duplicate ids."""
    from pyspark.sql import functions as F

    v = F.col(vector_col)
    row = df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_distinct(F.col(id_col)).alias("ids"),
        F.sum(F.col(id_col).isNull().cast("long")).alias("null_ids"),
        F.sum(v.isNull().cast("long")).alias("null_vectors"),
        F.sum(F.exists(v, lambda x: x.isNull() | F.isnan(x)).cast("long")).alias("bad_components"),
        F.min(F.size(v)).alias("min_dim"),
        F.max(F.size(v)).alias("max_dim"),
    ).first()
    where = f"{source} ds={ds.isoformat()}"
    if row["rows"] == 0:
        raise DataError(f"{where}: the partition is empty (0 rows): nothing to index")
    problems = []
    if row["null_ids"]:
        problems.append(f"{row['null_ids']} of {row['rows']} rows have a null {id_col}")
    if row["null_vectors"]:
        problems.append(f"{row['null_vectors']} of {row['rows']} rows have a null {vector_col}")
    if row["bad_components"]:
        problems.append(f"{row['bad_components']} of {row['rows']} rows have null or NaN components in {vector_col}")
    if row["min_dim"] is not None and row["min_dim"] != row["max_dim"]:
        dims = df.groupBy(F.size(v).alias("d")).count().orderBy(F.desc("count")).limit(5).collect()
        sizes = ", ".join(f"{r['count']} rows of {r['d']}" for r in dims)
        problems.append(f"mixed dimensions in {vector_col}: {sizes}")
    if row["min_dim"] == 0:
        problems.append(f"{vector_col} has empty arrays")
    nonnull = row["rows"] - row["null_ids"]
    if row["ids"] != nonnull:
        dups = (
            df.where(F.col(id_col).isNotNull())
            .groupBy(id_col)
            .count()
            .where("count > 1")
            .orderBy(F.desc("count"))
            .limit(3)
            .collect()
        )
        problems.append(
            f"{nonnull - row['ids']} duplicate {id_col} values among {nonnull} rows (e.g. "
            + ", ".join(f"{r[id_col]!r} x{r['count']}" for r in dups)
            + ")"
        )
    if problems:
        raise DataError(f"{where}: " + "; ".join(problems))
    return VectorStats(source=source, ds=ds.isoformat(), rows=int(row["rows"]), dim=int(row["max_dim"]))


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


def sample(df, vector_col: str, rows: int, total: int, seed: int) -> np.ndarray:
    """About `rows` vectors drawn uniformly with Spark (bounded; only these reach the driver), shuffled."""
    frac = min(1.0, 1.2 * rows / max(total, 1))
    picked = df.select(vector_col) if frac >= 1.0 else df.select(vector_col).sample(False, frac, seed)
    table = picked.limit(rows).toArrow()
    mat = to_matrix(table.column(vector_col), len(table.column(vector_col)[0]) if table.num_rows else 0)
    return mat[np.random.default_rng(seed).permutation(len(mat))]
