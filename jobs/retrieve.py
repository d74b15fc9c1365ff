"""Batch top-k retrieval of a day's query vectors from a registered index into out.candidates.

Every query vector of --ds in --queries (id, vector, ds; a table or a Delta/Parquet path) is searched on
executors against --index (--version, else the champion as of --ds: Registry.champion_as_of), the index
loaded once per executor; the top
--k items go to out.candidates (query_id, rank, item_id, score, index_version, ds, index), the (ds, index)
rows replaced atomically. Ranking them with a CTR model is the jobs candidate_features and rank
(docs/recs.md). See docs/ann.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.ann import artifacts, vectors
from pipelines.ann.build import task_threads
from pipelines.ann.retrieve import retrieve
from pipelines.common import table_names, tables
from pipelines.core.errors import DataError
from pipelines.core.names import Name
from pipelines.core.timing import stage
from pipelines.registry.store import Registry


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    index: Name = field(metadata={"help": "registry name of the index"})
    queries: str = field(metadata={"help": "table or Delta/Parquet path with the query id, vector and ds"})
    k: int | None = field(default=None, metadata={"help": "items per query (default ann.retrieve.k)"})
    version: str | None = field(default=None, metadata={"help": "an index version (default: the champion as of --ds)"})

    def validate(self) -> None:
        if self.k is not None and self.k < 1:
            raise ValueError(f"--k must be positive, got {self.k}")


def run(spark, cfg: Config) -> dict:
    from pyspark.sql import functions as F

    ann = cfg.settings.ann
    reg = Registry.from_settings(cfg.settings)
    mv = reg.for_day(cfg.index, cfg.ds, cfg.version)
    if mv.flavor != "faiss":
        raise DataError(f"{mv.name} {mv.version} is a {mv.flavor} model, not a faiss index")
    meta = artifacts.read_metadata(mv.artifacts)
    k = cfg.k or ann.retrieve.k
    qid = ann.retrieve.query_id_col
    with stage(f"reading and validating {cfg.queries} ds={cfg.ds}"):
        queries = vectors.read_day(spark, cfg.queries, cfg.ds, qid, ann.vector_col)
        stats = vectors.validate(queries, cfg.queries, cfg.ds, qid, ann.vector_col)
    if stats.dim != int(meta["dim"]):
        raise DataError(
            f"{cfg.queries} ds={cfg.ds}: query vectors have dimension {stats.dim}, index {mv.name} "
            f"{mv.version} has {meta['dim']}"
        )
    out = table_names.candidates(cfg.settings)
    with stage(f"top-{k} of {stats.rows} queries from {mv.name} {mv.version} into {out}"):
        candidates = retrieve(
            spark,
            mv.artifacts,
            meta,
            queries,
            k,
            qid,
            ann.vector_col,
            ann.retrieve.batch_size,
            task_threads(spark, ann.build.threads_per_task),
        )
        candidates = candidates.withColumn("index_version", F.lit(mv.version))
        candidates = tables.align_to_table(
            spark, candidates, out, f"{mv.name} {mv.version}'s candidates", ("ds", "index")
        )
        written = tables.write_delta_partition(candidates, out, cfg.ds, subpartition={"index": mv.name})
    result = {
        "index": mv.name,
        "version": mv.version,
        "queries": stats.rows,
        "k": k,
        "table": out,
        "rows": written.rows,
        "delta_version": written.version,
    }
    return result


if __name__ == "__main__":
    raise SystemExit(main())
