"""Distributed Faiss build on Spark vs a single-process build of the same factory and trained index.

    .venv/bin/python bench/faiss_build.py --rows 1000000 --dim 64 [--state /tmp/ctrflow-bench-faiss]

One run, one Spark session (`local[*]`):
  1. `rows` x `dim` clustered synthetic vectors (1000 Gaussian clusters), written as Parquet files of one
     ds partition (id, vector) — not timed;
  2. the automatic choice for them (ann defaults), a training sample drawn with Spark, training on the
     driver (timed once, counted in both builds: the same trained index);
  3. distributed: the day counted (file metadata) and its first vector's dimension read, the sample checked
     on the driver, the trained index broadcast, vectors checked (nulls, NaN, dimensions) and added on
     executors (spark.task.cpus faiss threads per task) over Arrow batches, the tasks' counts summed and
     duplicate ids looked up in the id map on the driver, shards merged; single-process: the same trained
     index, every vector added from an in-memory numpy matrix with all cores. The ratio distributed
     (validation included) / single-process (train + add) is the cost of distribution (goal <= 1.3x); the
     two indices are compared byte for byte, and where they differ, list by list. Timed apart and left out
     of the sum: the session's first Spark job (warm-up) and a pass that only reads every row through
     mapInArrow (the add pass's share that is Spark's and Arrow's);
  4. recall@10 against exact search (computed on executors) on 1000 query vectors of the sample, the
     smallest nprobe reaching 0.95, and QPS there (batch search on the driver, all cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAY = dt.date(2026, 11, 1)


def _write_parquet(path: Path, rows: int, dim: int, files: int, seed: int) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(1000, dim)).astype(np.float32) * 3
    x = centers[rng.integers(0, 1000, rows)] + rng.normal(size=(rows, dim)).astype(np.float32)
    part = path / f"ds={DAY}"
    part.mkdir(parents=True)
    bounds = np.linspace(0, rows, files + 1, dtype=np.int64)
    for i in range(files):
        lo, hi = bounds[i], bounds[i + 1]
        vec = pa.FixedSizeListArray.from_arrays(pa.array(x[lo:hi].ravel()), dim).cast(pa.list_(pa.float32()))
        pq.write_table(pa.table({"id": pa.array(np.arange(lo, hi)), "vector": vec}), part / f"part-{i:03d}.parquet")
    return x


def _scan_only(df) -> int:
    """Every row read through mapInArrow and dropped: the part of the add pass that is Spark's."""

    def count(batches):
        import pyarrow as pa

        yield pa.RecordBatch.from_arrays([pa.array([sum(b.num_rows for b in batches)], pa.int64())], names=["rows"])

    return sum(r["rows"] for r in df.mapInArrow(count, "rows long").collect())


def _list_of_each(index, ids: np.ndarray) -> np.ndarray:
    """The inverted list holding each vector (in the order of `ids`, sorted faiss ids)."""
    import faiss

    ivf = faiss.extract_index_ivf(index)
    where = np.full(len(ids), -1, dtype=np.int64)
    for lst in range(ivf.nlist):  # a loop over lists, not rows
        size = ivf.invlists.list_size(lst)
        if size:
            held = faiss.rev_swig_ptr(ivf.invlists.get_ids(lst), size).copy()
            where[np.searchsorted(ids, held)] = lst
    return where


def _compare_lists(merged, single, xs: np.ndarray, ids: np.ndarray) -> None:
    """Where two IVF indices of the same vectors differ: list sizes, vectors in another list, and how close
    each such vector is to the boundary between its two lists (relative gap of its two centroid distances)."""
    import faiss

    a, b = _list_of_each(merged, ids), _list_of_each(single, ids)
    ivf = faiss.extract_index_ivf(single)
    sizes_a = np.bincount(a, minlength=ivf.nlist)
    sizes_b = np.bincount(b, minlength=ivf.nlist)
    moved = np.flatnonzero(a != b)
    print(
        f"lists of different size: {int((sizes_a != sizes_b).sum())} of {ivf.nlist}; "
        f"vectors in another list: {len(moved)}"
    )
    if len(moved):
        centroids = ivf.quantizer.reconstruct_n(0, ivf.nlist)
        v = xs[moved]
        da = ((v - centroids[a[moved]]) ** 2).sum(axis=1)
        db = ((v - centroids[b[moved]]) ** 2).sum(axis=1)
        gap = np.abs(da - db) / np.maximum(np.minimum(da, db), 1e-30)
        print(f"  relative gap of their two centroid distances: max {gap.max():.2e}, median {np.median(gap):.2e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--state", default="/tmp/ctrflow-bench-faiss")
    args = ap.parse_args()

    import faiss

    from pipelines.ann import artifacts, build, choice, quality, vectors
    from pipelines.ann.index_version import training_rows
    from pipelines.common import config
    from pipelines.common.spark import get_session

    shutil.rmtree(args.state, ignore_errors=True)
    source = Path(args.state) / "items"
    x = _write_parquet(source, args.rows, args.dim, args.files, seed=11)
    sets = [f"project.state_dir={args.state}", "spark.log_level=ERROR"]
    settings = config.load(overrides=sets).settings
    cfg = settings.ann
    spark = get_session(settings)
    cores = spark.sparkContext.defaultParallelism
    t = {}

    def timed(key, fn):
        t0 = time.perf_counter()
        out = fn()
        t[key] = time.perf_counter() - t0
        print(f"  {key:<34} {t[key]:8.2f} s", flush=True)
        return out

    timed("(first Spark job: warm-up, not in the sum)", lambda: spark.range(1000).count())
    df = vectors.read_day(spark, str(source), DAY, "id", "vector")
    where = f"{source} ds={DAY}"
    stats = timed("count + first vector (Spark)", lambda: vectors.shape(df, str(source), DAY, "vector"))
    ch = choice.resolve(stats.rows, stats.dim, cfg)
    n_train = training_rows(ch, stats.rows, cfg)
    threads = build.task_threads(spark, cfg.build.threads_per_task)
    print(
        f"{stats.rows} x {stats.dim}: {ch.factory} ({ch.reason}); {n_train} training vectors; {cores} cores; "
        f"{threads} faiss thread(s) per task (spark.task.cpus)"
    )
    sample = timed(
        "training sample + checks (Spark)", lambda: vectors.sample(df, "vector", n_train, stats.rows, 7, stats.dim)
    )
    faiss.omp_set_num_threads(cores)
    trained = timed("train on the driver (shared)", lambda: build.train(ch.factory, stats.dim, "l2", sample))

    staging = str(Path(args.state) / "staging")
    layout = build.add_layout(df, trained, 1, None)
    added = timed(
        "add + check vectors (executors)",
        lambda: build.distributed_add(spark, layout, trained, stats.dim, "id", "vector", staging, threads),
    )
    timed("(Spark -> Arrow scan alone, not in the sum)", lambda: _scan_only(layout))
    timed("counts + duplicate ids (driver)", lambda: build.check_added(added, staging, where, "id", "vector"))
    [merged] = timed("load + merge shards (driver)", lambda: build.merge_shards(build.load_shards(added), 1))
    id_map = spark.read.parquet(f"{staging}/{artifacts.ID_MAP_DIR}").orderBy("faiss_id").toPandas()
    order = id_map["id"].to_numpy()
    xs, ids = x[order], id_map["faiss_id"].to_numpy()
    faiss.omp_set_num_threads(cores)
    single = timed("single-process add (all cores)", lambda: build.build_single_process(trained, xs, ids))
    same = artifacts.to_bytes(merged) == artifacts.to_bytes(single)

    queries = sample[: cfg.quality.queries]
    _, truth = timed(
        "exact top-10 (executors)",
        lambda: quality.exact_top_k(
            layout, queries, 10, "l2", stats.dim, "vector", {s.partition: s.rows for s in added}
        ),
    )
    q = quality.measure(merged, queries, truth, 10, cfg.quality.target_recall, cfg.quality.ef_search_values)
    distributed_steps = [
        "count + first vector (Spark)",
        "training sample + checks (Spark)",
        "train on the driver (shared)",
        "add + check vectors (executors)",
        "counts + duplicate ids (driver)",
        "load + merge shards (driver)",
    ]
    dist = sum(t[k] for k in distributed_steps)
    one = t["train on the driver (shared)"] + t["single-process add (all cores)"]
    add_ratio = sum(t[k] for k in distributed_steps[3:]) / t["single-process add (all cores)"]
    print(f"\nshards: {len(added)}; distributed index == single-process index byte for byte: {same}")
    if not same:
        _compare_lists(merged, single, xs, ids)
    print(
        f"validation + build (count + sample + train + add/check + duplicates + merge) distributed {dist:.1f} s "
        f"vs single-process (train + add) {one:.1f} s: {dist / one:.2f}x (goal <= 1.3x)"
    )
    print(f"add/check + duplicates + merge vs add alone: {add_ratio:.2f}x")
    print(
        f"recall@10 {q.recall_at_k:.4f} at nprobe={q.search_value} (target {q.target_recall}: "
        f"{'met' if q.target_met else 'NOT met'}); {q.qps:.0f} queries/s on {cores} cores; curve "
        + ", ".join(f"{c['value']}:{c['recall_at_k']:.3f}" for c in q.curve)
    )
    spark.stop()


if __name__ == "__main__":
    main()
