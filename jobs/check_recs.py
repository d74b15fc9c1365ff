"""Judge a day's ranked recommendations before they are published: coverage, diversity, and the hit rate
of the day's clicks among the ranked top k against the retrieval order's top k.

Reads out.recs_ranked and out.candidates (ds, --index) and the day's clicks (label 1) in
stg.<recs.source>; writes one row to out.recs_quality (ds, index) and its result line, then fails (exit 1,
one line naming what fell short) when a recs.quality threshold is missed. See docs/recs.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import table_names, tables
from pipelines.core.errors import DataError
from pipelines.core.names import Name, quote_ident
from pipelines.core.timing import stage
from pipelines.recs import quality


class RecsBelowThreshold(DataError):
    """The day's recommendations miss a quality threshold (they are not published)."""


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    index: Name | None = field(default=None, metadata={"help": "the index whose recommendations (default recs.index)"})
    label: Name | None = field(default=None, metadata={"help": "click column of the source (default: the pipeline's)"})


def run(spark, cfg: Config) -> dict:
    from pyspark.sql import functions as F

    from pipelines.features.builder import load_spec

    r = cfg.settings.recs
    index = cfg.index or r.index
    ranked_t, cand_t = table_names.ranked(cfg.settings), table_names.candidates(cfg.settings)
    source_t = table_names.staged(cfg.settings, r.source)
    label = cfg.label or load_spec(r.pipeline, env=cfg.conf.env).label
    ranked = tables.read_day(spark, ranked_t, cfg.ds, "to check", " (run rank first)", index=index)
    candidates = tables.read_day(spark, cand_t, cfg.ds, "to check", " (run retrieve first)", index=index).select(
        F.col("query_id").alias(r.user_id), F.col("item_id").alias(r.item_id), F.col("rank").alias("retrieval_rank")
    )
    clicks = (
        tables.read_day(spark, source_t, cfg.ds, "to check recommendations against")
        .where(F.col(quote_ident(label)) == 1)
        .select(r.user_id, r.item_id)
        .distinct()
    )
    k = int(ranked.agg(F.max("rank")).first()[0])
    with stage(f"coverage, diversity and hit rate@{k} of {ranked_t} ds={cfg.ds} index={index}"):
        q = quality.measure(ranked, candidates, clicks, r.user_id, r.item_id, k)
    th = r.quality
    short = quality.problems(q, th.min_coverage, th.min_distinct_share, th.min_hit_rate_lift)
    versions = ranked.select("model", "model_version", "index_version").limit(1).first()
    row = {**q.as_dict(), "passed": not short, "problems": "; ".join(short), **versions.asDict()}
    out = table_names.recs_quality(cfg.settings)
    written = tables.write_delta_partition(spark.createDataFrame([row]), out, cfg.ds, subpartition={"index": index})
    if short:
        raise RecsBelowThreshold(f"recommendations of {index} for {cfg.ds} not published: {'; '.join(short)}")
    return {"index": index, "table": out, "delta_version": written.version, **row}


if __name__ == "__main__":
    raise SystemExit(main())
