"""Build = train on the driver + add on executors + merge.

1. `train`: the empty index is trained on a bounded sample (drawn with Spark) on the driver.
2. `distributed_add`: its serialized bytes are broadcast; each Spark task deserializes it, adds its
   partition's vectors batch by batch (Arrow batches through mapInArrow), checking them in the same scan
   (`vector_checks`), and writes its shard and its piece of the id map to a staging directory. Only
   (partition, shard path, counts) rows come back to the driver; `check_added` sums the counts, looks for
   duplicate ids in the id map and raises the problems.
3. `merge_shards`: shards are merged in partition order (IVF inverted lists / flat codes appended with
   faiss `merge_from`) into one index, or into N shards when asked. HNSW graphs cannot be merged: the add
   pass then runs on N partitions and each graph is kept as a shard.

Adding every vector in partition order to one copy of the trained index (`build_single_process`) gives
the same index: the same ntotal, inverted lists with the same ids in the same order, the same results.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from pipelines.ann import artifacts
from pipelines.ann.vector_checks import VectorCounts, batch_counts, duplicate_ids, raise_problems
from pipelines.ann.vectors import faiss_ids
from pipelines.common import storage

log = logging.getLogger("ctrflow.ann")

_SHARDS_DIR = "_add_shards"


@dataclass(frozen=True)
class AddedShard:
    partition: int
    uri: str | None  # None when the partition's vectors were only counted (a problem found, or no index)
    counts: VectorCounts

    @property
    def rows(self) -> int:
        return self.counts.rows


def metric_type(metric: str) -> int:
    import faiss

    return faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2


def empty_index(factory: str, d: int, metric: str):
    """The untrained index, wrapped in an IndexIDMap when the index type cannot store ids itself."""
    import faiss

    index = faiss.index_factory(d, factory, metric_type(metric))
    if faiss.try_extract_index_ivf(index) is None:
        index = faiss.IndexIDMap(index)
    return index


def train(factory: str, d: int, metric: str, sample: np.ndarray):
    """The trained, empty index (Flat and HNSW need no training and ignore the sample)."""
    index = empty_index(factory, d, metric)
    if not index.is_trained:
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    return index


def mergeable(index) -> bool:
    import faiss

    inner = index.index if isinstance(index, faiss.IndexIDMap) else index
    return not isinstance(faiss.downcast_index(inner), faiss.IndexHNSW)


def add_layout(df, index, shards: int, add_partitions: int | None):
    """The partitioning of the add pass (the exact-search pass must use the same one: faiss ids depend on it)."""
    if index is not None and not mergeable(index):
        return df.coalesce(shards) if df.rdd.getNumPartitions() > shards else df.repartition(shards)
    return df.repartition(add_partitions) if add_partitions else df


def task_threads(spark, configured: int | None) -> int:
    """Faiss threads inside one Spark task: as configured, else the cores a task holds (spark.task.cpus)."""
    return configured or int(spark.sparkContext.getConf().get("spark.task.cpus", "1"))


def id_map_uri(staging: str, partition: int) -> str:
    return f"{staging}/{artifacts.ID_MAP_DIR}/part-{partition:05d}.parquet"


def _added_schema():
    """The add pass's one row per partition (Arrow; Spark's schema is derived from it)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("partition", pa.int32()),
            ("rows", pa.int64()),
            ("uri", pa.string()),
            ("null_ids", pa.int64()),
            ("null_vectors", pa.int64()),
            ("bad_vectors", pa.int64()),
            ("dims", pa.list_(pa.int32())),
            ("dim_rows", pa.list_(pa.int64())),
        ]
    )


def _add_partition(trained: bytes | None, d: int, id_col: str, vector_col: str, staging: str, threads: int):
    """The mapInArrow function: one shard, one id-map piece and the counts of the checks per Spark partition.
    The vectors are added while every batch so far is clean; after a problem (or with no trained index)
    they are only counted and no shard is written."""

    def add(batches):
        import faiss
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        faiss.omp_set_num_threads(threads)
        pid = TaskContext.get().partitionId()
        index = None if trained is None else artifacts.from_bytes(trained)
        counts, id_parts = VectorCounts(), []
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table_ids = batch.column(id_col)
            seen, values = batch_counts(table_ids, batch.column(vector_col))
            ids = faiss_ids(pid, counts.rows, batch.num_rows)
            counts += seen
            if index is not None and counts.clean(d):
                index.add_with_ids(values.reshape(batch.num_rows, d), ids)
            else:
                index = None
            id_parts.append(pa.table({"faiss_id": ids, "id": table_ids}))
        if counts.rows == 0:
            return
        shard = None
        if index is not None:
            shard = f"{staging}/{_SHARDS_DIR}/part-{pid:05d}.faiss"
            storage.write_bytes(shard, artifacts.to_bytes(index))
        id_map = pa.BufferOutputStream()
        pq.write_table(pa.concat_tables(id_parts), id_map)
        storage.write_bytes(id_map_uri(staging, pid), id_map.getvalue().to_pybytes())
        dims = sorted(counts.dims.items())
        yield pa.RecordBatch.from_pylist(
            [
                {
                    "partition": pid,
                    "rows": counts.rows,
                    "uri": shard,
                    "null_ids": counts.null_ids,
                    "null_vectors": counts.null_vectors,
                    "bad_vectors": counts.bad_vectors,
                    "dims": [d for d, _ in dims],
                    "dim_rows": [n for _, n in dims],
                }
            ],
            schema=_added_schema(),
        )

    return add


def distributed_add(
    spark, df, trained, d: int, id_col: str, vector_col: str, staging: str, threads: int = 1
) -> list[AddedShard]:
    """Add every row of df (already laid out by `add_layout`) on executors, checking every vector in the same
    scan; the shards' locations and counts come back. With trained None the vectors are only counted."""
    payload = None if trained is None else artifacts.to_bytes(trained)
    fn = _add_partition(payload, d, id_col, vector_col, staging, threads)
    from pyspark.sql.pandas.types import from_arrow_schema

    out = df.mapInArrow(fn, from_arrow_schema(_added_schema())).collect()
    added = (
        AddedShard(
            partition=int(r["partition"]),
            uri=r["uri"],
            counts=VectorCounts(
                rows=int(r["rows"]),
                null_ids=int(r["null_ids"]),
                null_vectors=int(r["null_vectors"]),
                bad_vectors=int(r["bad_vectors"]),
                dims=dict(zip(r["dims"], r["dim_rows"], strict=True)),
            ),
        )
        for r in out
    )
    return sorted(added, key=lambda s: s.partition)


def check_added(added: list[AddedShard], staging: str, where: str, id_col: str, vector_col: str) -> None:
    """The add pass's counts summed, duplicate ids looked up in the id map's id column (read on the driver:
    8 bytes an id for integer ids, as the index itself stores), and the problems raised as one DataError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    counts = sum((s.counts for s in added), VectorCounts())
    pieces = [
        pq.read_table(pa.BufferReader(storage.read_bytes(id_map_uri(staging, s.partition))), columns=["id"])
        for s in added
    ]
    ids = pa.concat_tables(pieces).column("id").combine_chunks() if pieces else pa.array([], pa.int64())
    raise_problems(where, counts, id_col, vector_col, duplicate_ids(ids))


def merge_shards(indices: list, n_out: int = 1) -> list:
    """Merge indices (in partition order) into n_out contiguous groups; unmergeable ones are kept as they are."""
    if not indices:
        return []
    if not mergeable(indices[0]):
        return list(indices)
    n_out = max(1, min(n_out, len(indices)))
    total = sum(i.ntotal for i in indices)
    groups: list[list] = [[] for _ in range(n_out)]
    seen = 0
    for index in indices:
        g = min(n_out - 1, int(seen * n_out / max(total, 1)))
        groups[g].append(index)
        seen += index.ntotal
    merged = []
    for group in (g for g in groups if g):
        head = group[0]
        for other in group[1:]:
            head.merge_from(other, 0)  # appends other's lists / codes with their ids, in order
        merged.append(head)
    return merged


def load_shards(added: list[AddedShard]) -> list:
    return [artifacts.from_bytes(storage.read_bytes(s.uri)) for s in added if s.uri]


def drop_staged_shards(staging: str) -> None:
    storage.remove_tree(f"{staging}/{_SHARDS_DIR}")


def shard_count(estimated_bytes: int, shards: int, max_shard_mb: int | None) -> int:
    """Shards to keep: as configured, or more when one shard would exceed max_shard_mb."""
    if max_shard_mb is None:
        return shards
    return max(shards, math.ceil(estimated_bytes / (max_shard_mb << 20)))


def build_single_process(trained, vectors: np.ndarray, ids: np.ndarray):
    """The reference: every vector added to one copy of the trained index, in one process."""
    import faiss

    index = faiss.clone_index(trained)
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    return index
