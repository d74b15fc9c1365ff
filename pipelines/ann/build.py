"""Build = train on the driver + add on executors + merge.

1. `train`: the empty index is trained on a bounded sample (drawn with Spark) on the driver.
2. `distributed_add`: its serialized bytes are broadcast; each Spark task deserializes it, adds its
   partition's vectors batch by batch (Arrow batches through mapInArrow), and writes its shard and its piece
   of the id map to a staging directory. Only (partition, rows, shard path) rows come back to the driver.
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
from pipelines.ann.vectors import faiss_ids, to_matrix
from pipelines.common import storage

log = logging.getLogger("ctrflow.ann")

_SHARDS_DIR = "_add_shards"


@dataclass(frozen=True)
class AddedShard:
    partition: int
    rows: int
    uri: str


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
    if not mergeable(index):
        return df.coalesce(shards) if df.rdd.getNumPartitions() > shards else df.repartition(shards)
    return df.repartition(add_partitions) if add_partitions else df


def _add_partition(trained: bytes, d: int, id_col: str, vector_col: str, staging: str, threads: int):
    """The mapInArrow function: one shard and one id-map piece per Spark partition."""

    def add(batches):
        import faiss
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        faiss.omp_set_num_threads(threads)
        pid = TaskContext.get().partitionId()
        index = artifacts.from_bytes(trained)
        rows, id_parts = 0, []
        for batch in batches:
            if batch.num_rows == 0:
                continue
            x = to_matrix(batch.column(vector_col), d)
            ids = faiss_ids(pid, rows, len(x))
            index.add_with_ids(x, ids)
            id_parts.append(pa.table({"faiss_id": ids, "id": batch.column(id_col)}))
            rows += len(x)
        if rows == 0:
            return
        shard = f"{staging}/{_SHARDS_DIR}/part-{pid:05d}.faiss"
        storage.write_bytes(shard, artifacts.to_bytes(index))
        id_map = pa.BufferOutputStream()
        pq.write_table(pa.concat_tables(id_parts), id_map)
        storage.write_bytes(f"{staging}/{artifacts.ID_MAP_DIR}/part-{pid:05d}.parquet", id_map.getvalue().to_pybytes())
        yield pa.RecordBatch.from_arrays(
            [pa.array([pid], pa.int32()), pa.array([rows], pa.int64()), pa.array([shard], pa.string())],
            names=["partition", "rows", "uri"],
        )

    return add


def distributed_add(
    spark, df, trained, d: int, id_col: str, vector_col: str, staging: str, threads: int = 1
) -> list[AddedShard]:
    """Add every row of df (already laid out by `add_layout`) on executors; the shards' locations come back."""
    payload = artifacts.to_bytes(trained)
    fn = _add_partition(payload, d, id_col, vector_col, staging, threads)
    out = df.mapInArrow(fn, "partition int, rows long, uri string").collect()
    return sorted((AddedShard(int(r["partition"]), int(r["rows"]), r["uri"]) for r in out), key=lambda s: s.partition)


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
    return [artifacts.from_bytes(storage.read_bytes(s.uri)) for s in added]


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
