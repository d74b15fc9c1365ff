"""Measured quality of an index: recall@k against exact search on a query sample, the smallest nprobe
(IVF) or efSearch (HNSW) that reaches a target recall, and queries per second at that setting.

The exact top-k is computed where the vectors are: each Spark task searches its partition exhaustively
(batch by batch, keeping a running top-k), and the driver merges the partial top-k lists. The faiss ids
are the add pass's, so the layout must be the same (`build.add_layout`); the per-partition row counts are
checked against the add pass's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from pipelines.ann.vectors import faiss_ids, to_matrix
from pipelines.core.errors import DataError

log = logging.getLogger("ctrflow.ann")


@dataclass(frozen=True)
class Quality:
    k: int
    queries: int
    recall_at_k: float
    target_recall: float
    target_met: bool
    search_param: str | None  # nprobe | efSearch | None (exact index)
    search_value: int | None
    qps: float
    curve: list[dict] = field(default_factory=list)  # [{"value": v, "recall_at_k": r}, ...] as tried

    def as_dict(self) -> dict:
        return asdict(self)


def _heap(nq: int, k: int, metric: str):
    import faiss

    return faiss.ResultHeap(nq, k, keep_max=(metric == "ip"))


def exact_top_k(
    df, queries: np.ndarray, k: int, metric: str, d: int, vector_col: str, expected_rows: dict[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (distances, faiss ids) of the k nearest rows of df for every query, computed on executors."""
    import pyarrow as pa

    q = np.ascontiguousarray(queries, dtype=np.float32)
    nq = len(q)

    def search(batches):
        import faiss
        from pyspark import TaskContext

        faiss.omp_set_num_threads(1)
        pid = TaskContext.get().partitionId()
        heap, rows = _heap(nq, k, metric), 0
        for batch in batches:
            if batch.num_rows == 0:
                continue
            x = to_matrix(batch.column(vector_col), d)
            kk = min(k, len(x))
            dist, idx = faiss.knn(q, x, kk, metric=faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2)
            ids = np.where(idx >= 0, faiss_ids(pid, rows, len(x))[np.maximum(idx, 0)], -1)
            if kk < k:  # pad: the heap takes k columns
                pad = np.full((nq, k - kk), np.inf if metric != "ip" else -np.inf, dtype=np.float32)
                dist, ids = np.hstack([dist, pad]), np.hstack([ids, np.full((nq, k - kk), -1, dtype=np.int64)])
            heap.add_result(np.ascontiguousarray(dist, dtype=np.float32), np.ascontiguousarray(ids))
            rows += len(x)
        heap.finalize()
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([pid], pa.int32()),
                pa.array([rows], pa.int64()),
                pa.array([heap.D.tobytes()], pa.binary()),
                pa.array([heap.I.tobytes()], pa.binary()),
            ],
            names=["partition", "rows", "d", "i"],
        )

    parts = df.mapInArrow(search, "partition int, rows long, d binary, i binary").collect()
    if expected_rows is not None:
        got = {int(r["partition"]): int(r["rows"]) for r in parts if r["rows"]}
        if got != expected_rows:
            raise DataError(
                f"the input's partitioning changed between the add and the exact-search passes "
                f"(rows per partition {expected_rows} then {got}); rerun the build"
            )
    heap = _heap(nq, k, metric)
    for r in parts:
        heap.add_result(
            np.frombuffer(r["d"], dtype=np.float32).reshape(nq, k).copy(),
            np.frombuffer(r["i"], dtype=np.int64).reshape(nq, k).copy(),
        )
    heap.finalize()
    return heap.D, heap.I


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean over queries of |found top-k ∩ true top-k| / k (ids; -1 never counts)."""
    hits = 0
    for f, t in zip(found[:, :k], truth[:, :k], strict=True):
        hits += len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist()))
    return hits / (k * len(truth))


def search_param(index) -> tuple[str | None, list[int]]:
    """The speed/accuracy knob of an index and the values worth trying (ascending)."""
    import faiss

    probe = index.at(0) if isinstance(index, faiss.IndexShards) else index
    ivf = faiss.try_extract_index_ivf(probe)
    if ivf is not None:
        return "nprobe", [v for v in (2**i for i in range(20)) if v < ivf.nlist] + [ivf.nlist]
    inner = probe.index if isinstance(probe, faiss.IndexIDMap) else probe
    if isinstance(faiss.downcast_index(inner), faiss.IndexHNSW):
        return "efSearch", []
    return None, []


def set_search_param(index, name: str | None, value: int | None) -> None:
    import faiss

    if name is None or value is None:
        return
    faiss.ParameterSpace().set_index_parameter(index, name, value)


def tune(
    index, queries: np.ndarray, truth: np.ndarray, k: int, target: float, ef_values: list[int]
) -> tuple[str | None, int | None, float, list[dict]]:
    """The smallest setting reaching `target` recall@k (or the best one tried), its recall and the curve."""
    name, values = search_param(index)
    if name == "efSearch":
        values = sorted(v for v in ef_values if v >= k) or [max(ef_values)]
    if name is None:
        _, found = index.search(queries, k)
        r = recall_at_k(found, truth, k)
        return None, None, r, [{"value": None, "recall_at_k": r}]
    curve, best = [], (values[-1], -1.0)
    for v in values:
        set_search_param(index, name, v)
        _, found = index.search(queries, k)
        r = recall_at_k(found, truth, k)
        curve.append({"value": v, "recall_at_k": r})
        if r > best[1]:
            best = (v, r)
        if r >= target:
            return name, v, r, curve
    return name, best[0], best[1], curve


def measure_qps(index, queries: np.ndarray, k: int, min_seconds: float = 0.5) -> float:
    """Queries per second of batch search (repeated until min_seconds have passed)."""
    done, t0 = 0, time.perf_counter()
    while True:
        index.search(queries, k)
        done += len(queries)
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return done / elapsed


def measure(index, queries: np.ndarray, truth: np.ndarray, k: int, target: float, ef_values: list[int]) -> Quality:
    """Tune the index's search parameter for `target` recall@k, leave it set, and measure QPS there."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    name, value, recall, curve = tune(index, q, truth, k, target, ef_values)
    set_search_param(index, name, value)
    qps = measure_qps(index, q, k)
    met = recall >= target
    log.info(
        "recall@%d=%.4f at %s=%s (target %.2f %s), %.0f queries/s",
        k,
        recall,
        name,
        value,
        target,
        "met" if met else "NOT met",
        qps,
    )
    return Quality(
        k=k,
        queries=len(q),
        recall_at_k=recall,
        target_recall=target,
        target_met=met,
        search_param=name,
        search_value=value,
        qps=qps,
        curve=curve,
    )
