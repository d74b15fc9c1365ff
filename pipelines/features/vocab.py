"""Distributed value counting and broadcast lookups shared by the vocabulary-based stages.

Fitting never brings raw vocabularies to the driver: (column, value) pairs are counted on executors
(with map-side partial aggregation), filtered by min count and cut to the top k per column there,
and only the kept rows are collected (as Arrow). Transforming joins each column with its kept table
as a broadcast hash join: no Python on the row path.
"""

from __future__ import annotations

import uuid

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

MISSING_INDEX = 0  # null input
UNKNOWN_INDEX = 1  # a value not kept at fit time (unseen, rare or beyond top k)
FIRST_INDEX = 2


def as_key(col: Column) -> Column:
    """The lookup key of a value: its string form (ints and strings are indexed alike)."""
    return col.cast("string")


def long_format(df: DataFrame, cols: list[str], extra: list[str] = ()) -> DataFrame:
    """(col_id, value, *extra) rows for every input column, one `stack` generator, no shuffle."""
    pairs = ", ".join(f"{i}, cast(`{c}` as string)" for i, c in enumerate(cols))
    stacked = F.expr(f"stack({len(cols)}, {pairs}) as (col_id, value)")
    return df.select(stacked, *[F.col(f"`{e}`") for e in extra]).where(F.col("value").isNotNull())


def keep_frequent(counts: DataFrame, min_count: int, top_k: int, count_col: str = "count") -> DataFrame:
    """Rows of (col_id, value, count, ...) kept by min count and a per-column top k (on executors)."""
    kept = counts.where(F.col(count_col) >= min_count) if min_count > 1 else counts
    if top_k > 0:
        w = Window.partitionBy("col_id").orderBy(F.col(count_col).desc(), F.col("value"))
        kept = kept.withColumn("_rank", F.row_number().over(w)).where(F.col("_rank") <= top_k).drop("_rank")
    return kept


def fit_vocabulary(df: DataFrame, cols: list[str], min_count: int, top_k: int) -> pd.DataFrame:
    """Kept values per column with their index: (col_id, value, count, index), most frequent first."""
    counts = long_format(df, cols).groupBy("col_id", "value").agg(F.count(F.lit(1)).alias("count"))
    pdf = keep_frequent(counts, min_count, top_k).toPandas()
    return with_indices(pdf)


def with_indices(pdf: pd.DataFrame) -> pd.DataFrame:
    """Index values per column by descending count, ties by value, from FIRST_INDEX (deterministic)."""
    pdf = pdf.sort_values(["col_id", "count", "value"], ascending=[True, False, True], kind="mergesort")
    pdf["index"] = pdf.groupby("col_id").cumcount().astype("int32") + FIRST_INDEX
    pdf["col_id"] = pdf["col_id"].astype("int32")
    pdf["count"] = pdf["count"].astype("int64")
    return pdf.reset_index(drop=True)


def join_payload(df: DataFrame, col: str, table: pd.DataFrame, payload: dict[str, str]) -> tuple[DataFrame, dict]:
    """Left-join `df` on `col` with a small (value, payload...) table, broadcast.

    Returns the joined DataFrame and the names the payload columns got (unique, to be dropped by
    the caller). `payload` maps payload column -> Spark type.
    """
    spark = df.sparkSession
    tag = uuid.uuid4().hex[:8]
    key = f"__key_{tag}"
    names = {p: f"__{p}_{tag}" for p in payload}
    ddl = ", ".join([f"`{key}` string"] + [f"`{names[p]}` {t}" for p, t in payload.items()])
    pdf = table[["value", *payload]].rename(columns={"value": key, **names})
    right = spark.createDataFrame(pdf, ddl) if len(pdf) else spark.createDataFrame([], ddl)
    joined = df.join(F.broadcast(right), as_key(F.col(f"`{col}`")) == F.col(key), "left").drop(key)
    return joined, names
