"""Batch top-k retrieval of a day's query vectors from a registered index into out.candidates (and out.recs).

Every query vector of --ds in --queries (id, vector, ds; a table or a Delta/Parquet path) is searched on
executors against --index (--version, else the champion as of --ds: Registry.champion_as_of), the index
loaded once per executor; the top
--k items go to out.candidates (query_id, rank, item_id, score, ds, index), the (ds, index) rows replaced
atomically. With --ranker <model>, the candidates (joined with --features, a table with query_id and/or
item_id columns, when given) are scored by that model's champion as of --ds and written, re-ranked by its
probability, to out.recs. The result names both versions. See docs/ann.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.ann import artifacts, vectors
from pipelines.ann.retrieve import retrieve
from pipelines.common import table_names, tables
from pipelines.core.errors import DataError
from pipelines.core.names import Name, TableName
from pipelines.core.timing import stage
from pipelines.registry.store import Registry


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    index: Name = field(metadata={"help": "registry name of the index"})
    queries: str = field(metadata={"help": "table or Delta/Parquet path with the query id, vector and ds"})
    k: int | None = field(default=None, metadata={"help": "items per query (default ann.retrieve.k)"})
    version: str | None = field(default=None, metadata={"help": "an index version (default: the champion as of --ds)"})
    ranker: Name | None = field(default=None, metadata={"help": "registry name of a CTR model to rank with"})
    features: TableName | None = field(default=None, metadata={"help": "table joined to the candidates for --ranker"})

    def validate(self) -> None:
        if self.k is not None and self.k < 1:
            raise ValueError(f"--k must be positive, got {self.k}")
        if self.features and not self.ranker:
            raise ValueError("--features is only used with --ranker")


def _rank(spark, cfg: Config, candidates, model):
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from pipelines.registry.scoring import score

    df = candidates.withColumnRenamed("rank", "retrieval_rank").withColumnRenamed("score", "retrieval_score")
    if cfg.features:
        feats = spark.table(cfg.features)
        if "ds" in feats.columns:
            feats = feats.where(F.col("ds") == cfg.ds.isoformat()).drop("ds")
        keys = [c for c in ("query_id", "item_id") if c in feats.columns]
        if not keys:
            raise DataError(f"--features {cfg.features} has neither a query_id nor an item_id column to join on")
        df = df.join(feats, keys, "left")
    scored = score(spark, model, df)
    by_query = Window.partitionBy("query_id").orderBy(F.desc("probability"), F.asc("retrieval_rank"))
    return (
        scored.withColumn("rank", F.row_number().over(by_query))
        .select("query_id", "rank", "item_id", "probability", "retrieval_rank", "retrieval_score")
        .withColumn("model", F.lit(model.name))
        .withColumn("model_version", F.lit(model.version))
    )


def run(spark, cfg: Config) -> dict:
    ann = cfg.settings.ann
    reg = Registry.from_settings(cfg.settings)
    mv = reg.get(cfg.index, cfg.version) if cfg.version else reg.champion_as_of(cfg.index, cfg.ds)
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
            ann.build.threads_per_task,
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
    if cfg.ranker:
        recs = table_names.recs(cfg.settings)
        ranker = reg.champion_as_of(cfg.ranker, cfg.ds)
        with stage(f"ranking the candidates with {ranker.name} {ranker.version} into {recs}"):
            day = spark.table(out).where(f"ds = '{cfg.ds.isoformat()}' AND index = '{mv.name}'").drop("ds", "index")
            ranked = _rank(spark, cfg, day, ranker)
            wrote = tables.write_delta_partition(ranked, recs, cfg.ds, subpartition={"index": mv.name})
        result.update(
            {"ranker": cfg.ranker, "ranker_version": ranker.version, "recs_table": recs, "recs_rows": wrote.rows}
        )
    return result


if __name__ == "__main__":
    raise SystemExit(main())
