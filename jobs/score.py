"""Score a day of features with a registered model (the champion unless --version) into out.scores.

Reads the ds partition of the model's feature table (feat.<pipeline>, from the model's lineage) and
writes (ds, model) of out.scores: the label when present, `probability`, the model version and any
--keep columns. A rerun replaces the same (ds, model) rows only; other models' scores are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs._harness import JobConfig, main
from pipelines.common import tables
from pipelines.common.errors import DataError
from pipelines.common.timing import stage
from pipelines.features import flow
from pipelines.registry.scoring import score
from pipelines.registry.store import Registry


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    model: str = field(metadata={"help": "registry model name, e.g. gbdt_lr"})
    version: str | None = field(default=None, metadata={"help": "a model version (default: the champion)"})
    table: str | None = field(default=None, metadata={"help": "feature table to score (default: the model's)"})
    keep: list[str] = field(default_factory=list, metadata={"help": "extra input columns to keep in out.scores"})


def feature_table(mv) -> str:
    tables_read = [t for t in mv.inputs if "." in t]
    if len(tables_read) != 1:
        raise DataError(f"model {mv.name} {mv.version} does not name one input table (inputs: {mv.inputs}); "
                        f"pass --table")
    return tables_read[0]


def run(spark, cfg: Config) -> dict:
    from pyspark.sql import functions as F

    mv = Registry.from_settings(cfg.settings).get(cfg.model, cfg.version)
    source = cfg.table or feature_table(mv)
    if not tables.table_exists(spark, source):
        raise DataError(f"table {source} to score with {mv.name} {mv.version} does not exist")
    day = flow.read_days(spark, source, [cfg.ds], None)
    if day.limit(1).count() == 0:
        raise DataError(f"{source} has no rows for ds {cfg.ds}")
    missing = [c for c in cfg.keep if c not in day.columns]
    if missing:
        raise DataError(f"--keep {missing}: not columns of {source}")
    label = [c for c in ("label",) if c in day.columns]
    out_table = tables.table(cfg.settings, "out", "scores")
    with stage(f"scoring {source} ds={cfg.ds} with {mv.name} {mv.version} into {out_table}"):
        scored = score(spark, mv, day).select(*cfg.keep, *label, "probability").withColumn(
            "model_version", F.lit(mv.version))
        written = tables.write_delta_partition(scored, out_table, cfg.ds, subpartition={"model": mv.name})
    return {"model": mv.name, "version": mv.version, "table": out_table, "rows": written.rows,
            "delta_version": written.version, "source": source}


if __name__ == "__main__":
    raise SystemExit(main())
