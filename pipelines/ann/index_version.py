"""One index version end to end: count a day of vectors, choose, train on a checked sample, add and check
every vector on executors, merge, measure, save next to its id map, register and offer to the registry gate
(metric recall_at_k). A bad input fails before anything is registered; the staging directory is removed."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict

import numpy as np

from pipelines.ann import artifacts, build, choice, quality, vectors
from pipelines.common import storage, tables
from pipelines.core.errors import ConfigError, DataError
from pipelines.core.timing import stage

log = logging.getLogger("ctrflow.ann")

_PQ_MIN_TRAIN = 256 * 39  # 8-bit PQ sub-quantizers: 256 centroids, 39 points each


def training_rows(ch: choice.IndexChoice, n: int, cfg) -> int:
    if ch.family in ("flat", "hnsw"):
        return 0
    want = (ch.nlist or 1) * cfg.train.points_per_list
    if "PQ" in ch.factory:
        want = max(want, _PQ_MIN_TRAIN)
    return min(n, cfg.train.max_vectors, want)


def _train(ch: choice.IndexChoice, stats: vectors.VectorStats, metric: str, sample: np.ndarray):
    try:
        return build.train(ch.factory, stats.dim, metric, sample)
    except RuntimeError as e:
        raise ConfigError(
            f"factory '{ch.factory}' cannot be built or trained for {stats.rows} vectors of "
            f"dimension {stats.dim}: {str(e).splitlines()[-1] if str(e) else e}"
        ) from None


def _combined(shards: list):
    import faiss

    if len(shards) == 1:
        return shards[0]
    combined = faiss.IndexShards(shards[0].d, False, False)
    for shard in shards:
        combined.add_shard(shard)
    return combined


def _table_ids(spark, id_map: str, faiss_ids: np.ndarray) -> np.ndarray:
    """faiss ids (q, k) -> the table's ids as strings (None for -1), through an id map directory."""
    from pyspark.sql import functions as F

    wanted = sorted({int(i) for i in faiss_ids.ravel() if i >= 0})
    rows = spark.read.parquet(id_map).where(F.col("faiss_id").isin(wanted)).select("faiss_id", "id").collect()
    lookup = {int(r["faiss_id"]): str(r["id"]) for r in rows}
    return np.vectorize(lambda i: lookup.get(int(i)), otypes=[object])(faiss_ids)


def champion_eval(
    spark, reg, name: str, ds: dt.date, queries: np.ndarray, truth: np.ndarray, id_map: str, k: int
) -> dict:
    """The recall@k of the champion as of ds on this build's query sample and exact neighbours, compared by
    table id (its faiss ids are its own), so the gate can compare a new day's index with the current one."""
    champ = reg.champion_as_of(name, ds, missing_ok=True)
    if champ is None:
        return {}
    meta = artifacts.read_metadata(champ.artifacts)
    if int(meta["dim"]) != queries.shape[1]:
        return {
            "version": champ.version,
            "metrics": {"recall_at_k": 0.0},
            "note": f"dimension {meta['dim']} differs from {queries.shape[1]}",
        }
    index = artifacts.load(champ.artifacts, meta)
    quality.set_search_param(index, meta["quality"]["search_param"], meta["quality"]["search_value"])
    _, found = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    got = _table_ids(spark, f"{champ.artifacts}/{artifacts.ID_MAP_DIR}", found)
    want = _table_ids(spark, id_map, truth)
    hits = sum(
        len({x for x in g if x is not None} & {x for x in w if x is not None}) for g, w in zip(got, want, strict=True)
    )
    return {"version": champ.version, "metrics": {"recall_at_k": hits / (k * len(queries))}}


def build_version(
    spark,
    settings,
    source: str,
    ds: dt.date,
    factory: str | None = None,
    name: str | None = None,
    config_hash: str = "",
) -> dict:
    """Build, measure, register (and publish through the gate) one index version of `source` at `ds`."""
    import faiss

    from pipelines.registry.store import Registry

    cfg = settings.ann
    name = name or cfg.index_name
    where = f"{source} ds={ds}"
    with stage(f"counting {source} ds={ds}"):
        df = vectors.read_day(spark, source, ds, cfg.id_col, cfg.vector_col)
        stats = vectors.shape(df, source, ds, cfg.vector_col)
    n_queries, k = min(stats.rows, cfg.quality.queries), min(cfg.quality.k, stats.rows)
    ch, trained, sample, n_train = None, None, None, 0
    if stats.dim:
        ch = choice.resolve(stats.rows, stats.dim, cfg, factory)
        log.info("index choice for %d x %d: %s (%s)", stats.rows, stats.dim, ch.factory, ch.reason)
        n_train = training_rows(ch, stats.rows, cfg)
        with stage(f"sampling {max(n_train, n_queries)} vectors"):
            sample = vectors.sample(df, cfg.vector_col, max(n_train, n_queries), stats.rows, cfg.train.seed, stats.dim)
    if sample is not None:
        with stage(f"training {ch.factory} on {n_train} vectors"):
            trained = _train(ch, stats, cfg.metric, sample[:n_train])
    else:  # no vector, or a bad one in the sample: the add pass only counts, and reports every problem
        log.info("%s: the sample has null, NaN or mixed-dimension vectors; counting the day's problems", where)
    n_shards = build.shard_count(ch.estimated_bytes, cfg.build.shards, cfg.build.max_shard_mb) if ch else 1
    threads = build.task_threads(spark, cfg.build.threads_per_task)
    if trained is not None and not build.mergeable(trained):  # only n_shards tasks run: give each the others' cores
        threads = max(threads, spark.sparkContext.defaultParallelism // n_shards)
    reg = Registry.from_settings(settings)
    staged = reg.stage(name)
    try:
        layout = build.add_layout(df, trained, n_shards, cfg.build.add_partitions)
        with stage(f"adding and checking {stats.rows} vectors on executors"):
            added = build.distributed_add(
                spark, layout, trained, stats.dim, cfg.id_col, cfg.vector_col, staged, threads
            )
            build.check_added(added, staged, where, cfg.id_col, cfg.vector_col)
        if trained is None or not all(s.uri for s in added):
            raise DataError(
                f"{where}: the vectors changed while the index was built (the sample or the first "
                f"vector read disagrees with the add pass); rerun the build"
            )
        with stage(f"merging {len(added)} shards"):
            shards = build.merge_shards(build.load_shards(added), n_shards)
            build.drop_staged_shards(staged)
        index = _combined(shards)
        if index.ntotal != stats.rows:
            raise DataError(f"{where}: the index holds {index.ntotal} vectors, the table {stats.rows}")
        queries = sample[:n_queries]
        with stage(f"exact top-{k} of {n_queries} queries on executors"):
            _, truth = quality.exact_top_k(
                layout, queries, k, cfg.metric, stats.dim, cfg.vector_col, {s.partition: s.rows for s in added}
            )
        with stage("tuning the search parameter and measuring QPS"):
            q = quality.measure(index, queries, truth, k, cfg.quality.target_recall, cfg.quality.ef_search_values)
        with stage("the champion on the same queries"):
            champ = champion_eval(spark, reg, name, ds, queries, truth, f"{staged}/{artifacts.ID_MAP_DIR}", k)
        metadata = {
            "name": name,
            "factory": ch.factory,
            "family": ch.family,
            "choice_reason": ch.reason,
            "metric": cfg.metric,
            "dim": stats.dim,
            "ntotal": int(index.ntotal),
            "shards": len(shards),
            "train_rows": n_train,
            "source": source,
            "ds": ds.isoformat(),
            "id_col": cfg.id_col,
            "quality": q.as_dict(),
            "faiss_version": faiss.__version__,
            "shard_bytes": [len(artifacts.to_bytes(s)) for s in shards] if stats.rows <= 5_000_000 else None,
        }
        with stage("saving the index and its metadata"):
            artifacts.save(staged, shards, metadata)
        metrics = {
            "recall_at_k": q.recall_at_k,
            "k": k,
            "qps": q.qps,
            "ntotal": int(index.ntotal),
            "search_value": q.search_value,
        }
        delta_version = tables.delta_version(spark, source)
        # a version below its recall target is registered (to look at) but never promoted by the gate
        below = f"recall@{k}={q.recall_at_k:.4f} below target {cfg.quality.target_recall} at every setting tried"
        not_offered = {} if q.target_met else {"not_offered": below}
        mv = reg.register(
            name,
            staged=staged,
            kind="faiss_index",
            flavor="faiss",
            eval_ds=ds.isoformat(),
            metrics=metrics,
            config={"ann": asdict(settings.ann), "config_hash": config_hash},
            inputs={source: delta_version},
            extra={**metadata, "champion_eval": champ, **not_offered},
        )
    except BaseException:
        storage.remove_tree(staged.rsplit("/artifacts", 1)[0])
        raise
    result = {
        "name": name,
        "version": mv.version,
        "factory": ch.factory,
        "reason": ch.reason,
        "ntotal": int(index.ntotal),
        "dim": stats.dim,
        "shards": len(shards),
        "recall_at_k": q.recall_at_k,
        "k": k,
        q.search_param or "search_param": q.search_value,
        "qps": round(q.qps, 1),
        "target_met": q.target_met,
        "uri": mv.uri,
    }
    if cfg.publish:
        if not q.target_met:
            result["published"] = False
            result["gate"] = f"not offered: {below}"
        else:
            decision = reg.publish(name, mv.version, metric="recall_at_k")
            result["published"], result["gate"] = decision.accepted, decision.reason
    return result
