"""Batch top-k: every query vector searched on executors against a registered index version.

Each executor process loads an index version once (cached by its location in a module-level dict) and
searches its queries in batches; only (query_id, rank, faiss_id, score) rows leave the task, and faiss ids
become the table's ids through a join with the version's id map. `score` is higher-is-better: the inner
product (metric ip) or the negative squared L2 distance (metric l2).
"""

from __future__ import annotations

import numpy as np

from pipelines.ann import artifacts, quality
from pipelines.ann.vectors import to_matrix

_INDEX_CACHE: dict[str, object] = {}


def cached_index(root: str, metadata: dict):
    """The index at `root`, loaded once per process, with its tuned search parameter set."""
    index = _INDEX_CACHE.get(root)
    if index is None:
        index = artifacts.load(root, metadata)
        q = metadata.get("quality") or {}
        quality.set_search_param(index, q.get("search_param"), q.get("search_value"))
        _INDEX_CACHE[root] = index
    return index


def _search_partition(
    root: str, metadata: dict, k: int, query_id_col: str, vector_col: str, batch_size: int, threads: int
):
    dim, higher_is_better = int(metadata["dim"]), metadata["metric"] == "ip"

    def search(batches):
        import faiss
        import pyarrow as pa

        faiss.omp_set_num_threads(threads)
        index = cached_index(root, metadata)
        for big in batches:
            for start in range(0, big.num_rows, batch_size):
                batch = big.slice(start, batch_size)
                x = to_matrix(batch.column(vector_col), dim)
                dist, ids = index.search(x, k)
                keep = ids.ravel() >= 0
                rows = np.repeat(np.arange(len(x)), k)[keep]
                scores = dist.ravel()[keep] if higher_is_better else -dist.ravel()[keep]
                yield pa.RecordBatch.from_arrays(
                    [
                        batch.column(query_id_col).take(pa.array(rows)),
                        pa.array(np.tile(np.arange(1, k + 1, dtype=np.int32), len(x))[keep]),
                        pa.array(ids.ravel()[keep]),
                        pa.array(scores.astype(np.float32)),
                    ],
                    names=["query_id", "rank", "faiss_id", "score"],
                )

    return search


def retrieve(
    spark,
    index_root: str,
    metadata: dict,
    queries,
    k: int,
    query_id_col: str,
    vector_col: str,
    batch_size: int = 4096,
    threads: int = 1,
):
    """DataFrame (query_id, rank, item_id, score): the top-k items of every row of `queries`."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import FloatType, IntegerType, LongType, StructField, StructType

    schema = StructType(
        [
            StructField("query_id", queries.schema[query_id_col].dataType),
            StructField("rank", IntegerType()),
            StructField("faiss_id", LongType()),
            StructField("score", FloatType()),
        ]
    )
    fn = _search_partition(index_root, metadata, k, query_id_col, vector_col, batch_size, threads)
    found = queries.select(query_id_col, vector_col).mapInArrow(fn, schema)
    id_map = spark.read.parquet(f"{index_root}/{artifacts.ID_MAP_DIR}").withColumnRenamed("id", "item_id")
    return found.join(id_map, "faiss_id").select(
        "query_id", "rank", "item_id", F.col("score").cast("double").alias("score")
    )
