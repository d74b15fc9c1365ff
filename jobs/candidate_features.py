"""Turn a day's retrieved candidates into the feature rows the ranking model was trained on.

out.candidates (ds, --index) holds (query_id = user id, item_id, rank, score). Each pair gets the user's
columns from the user's latest row of stg.<recs.source> as of ds and the item's columns from the item's
(recs.user_columns / item_columns, within recs.lookback_days), and the feature pipeline recs.pipeline
(the version fitted for ds) encodes them, crosses included, as the features job encodes impressions.
Written to feat.<pipeline>_candidates (ds, index): the ids, the pipeline's features, retrieval_rank and
retrieval_score, the index version. Pairs whose user or item has no row in the window are dropped and
counted. See docs/recs.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import table_names, tables
from pipelines.core.errors import ConfigError, DataError
from pipelines.core.names import Name
from pipelines.core.timing import stage
from pipelines.features import flow
from pipelines.recs import candidate_rows


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    index: Name | None = field(default=None, metadata={"help": "the index whose candidates (default recs.index)"})


def run(spark, cfg: Config) -> dict:
    from pyspark.sql import functions as F

    r = cfg.settings.recs
    index = cfg.index or r.index
    cand_table = table_names.candidates(cfg.settings)
    source_table = table_names.staged(cfg.settings, r.source)
    candidates = tables.read_day(
        spark, cand_table, cfg.ds, "to build candidate features from", " (run retrieve first)", index=index
    )
    if not tables.table_exists(spark, source_table):
        raise DataError(f"table {source_table} does not exist (run ingest --source {r.source} first)")
    source = spark.table(source_table)
    candidate_rows.check_columns(source_table, source.columns, cfg.settings)
    candidate_rows.check_id_types(candidates, source, cfg.settings, cand_table, source_table)
    plan = flow.load_plan(
        spark, cfg.settings, r.pipeline, cfg.conf.env, cfg.conf.named_overrides("features", r.pipeline)
    )
    if plan.spec.source != r.source:
        raise ConfigError(f"recs.pipeline {r.pipeline} reads source {plan.spec.source}, recs.source is {r.source}")
    sides = {r.user_id, r.item_id, *r.user_columns, *r.item_columns}
    read = {c for pc in plan.columns.values() for c in pc.inputs if c in plan.source_columns}
    read |= {c for c in plan.spec.keep}
    outside = sorted(read - sides - {plan.spec.label, "ds"})
    if outside:
        raise ConfigError(
            f"pipeline {r.pipeline} reads {', '.join(outside)}, neither a user nor an item column of recs.yml: "
            f"a candidate pair has no such value"
        )
    fitted = flow.load_as_of(spark, cfg.settings, plan, cfg.ds)
    label_type = dict(source.dtypes)[plan.spec.label]
    out = table_names.candidate_features(cfg.settings, r.pipeline)
    with stage(f"assembling and encoding the candidates of {index} ds={cfg.ds} with {r.pipeline} {fitted.version}"):
        rows = candidate_rows.assemble(candidates, source, cfg.settings, cfg.ds, plan.spec.label, label_type)
        keep = list(dict.fromkeys([r.user_id, r.item_id, *plan.spec.keep, "retrieval_rank", "retrieval_score"]))
        encoded = flow.select_features(fitted.model.transform(rows), fitted.feature_map, keep)
        index_version = candidates.select("index_version").limit(1).first()["index_version"]
        encoded = encoded.withColumn("index_version", F.lit(index_version))
        written = tables.write_delta_partition(encoded, out, cfg.ds, subpartition={"index": index})
    read_pairs = candidates.count()
    return {
        "index": index,
        "index_version": index_version,
        "pipeline": r.pipeline,
        "pipeline_version": fitted.version,
        "table": out,
        "candidates": read_pairs,
        "rows": written.rows,
        "dropped": read_pairs - written.rows,
        "delta_version": written.version,
    }


if __name__ == "__main__":
    raise SystemExit(main())
