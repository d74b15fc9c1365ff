"""Score a day of features with a registered model (--version, else the champion as of --ds:
Registry.champion_as_of, the version published for the greatest day on or before it; for a day before the
first publish, the day's own candidate) into out.scores.

Reads the ds partition of the model's feature table (feat.<pipeline>, from the model's lineage) and
writes (ds, model) of out.scores: the label under the source's own name (`label`, `click`, ...), the
raw columns the pipeline keeps (`keep:`, e.g. ids to join predictions back to impressions), any --keep
columns, `probability` and the model version. out.scores is one table for all models: a column a
model brings that the table lacks is added (other models' rows hold null there). A rerun replaces the
same (ds, model) rows only; other models' scores are untouched. A damaged model version (its meta.json,
the champion pointer, or files that differ from its manifest) exits 2 naming it, before Spark loads it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import table_names, tables
from pipelines.core.errors import DataError
from pipelines.core.names import Name, TableName
from pipelines.core.timing import stage
from pipelines.features import flow
from pipelines.registry.scoring import score
from pipelines.registry.store import Registry

log = logging.getLogger("ctrflow")
_PARTITIONS = ("ds", "model")  # added by the write


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    model: Name = field(metadata={"help": "registry model name, e.g. gbdt_lr"})
    version: str | None = field(default=None, metadata={"help": "a model version (default: the champion as of --ds)"})
    table: TableName | None = field(default=None, metadata={"help": "feature table to score (default: the model's)"})
    keep: list[Name] = field(
        default_factory=list,
        metadata={"help": "input columns to keep in out.scores besides the label and the pipeline's `keep:` columns"},
    )


def carried(spark, settings, mv) -> tuple[str, list[str]]:
    """(label, kept raw columns) of the feature pipeline version the model was trained on; a model
    without that lineage (or trained on a table the features job did not write) gets ('label', [])."""
    version = mv.inputs.get("feature_pipeline_version")
    feats = [
        t.split(".", 1)[1] for t in mv.inputs if t.split(".", 1)[0] == settings.project.databases.feat and "." in t
    ]
    if version and len(feats) == 1:
        found = flow.carried_columns(spark, settings, feats[0], version)
        if found is not None:
            return found
    return "label", []


def serving_version(reg: Registry, name: str, ds):
    """The champion as of ds; for a day before the first publish (a backfill of older days), the day's own
    candidate: what the gate would have published then, had the days run in order (it had no champion
    to beat). Neither is a DataError naming the publishes."""
    mv = reg.champion_as_of(name, ds, missing_ok=True)
    if mv is not None:
        return mv
    try:
        own = reg.candidate(name, ds.isoformat())
    except DataError:
        return reg.champion_as_of(name, ds)  # raises, naming the publishes
    log.info("%s had no champion on %s: scoring with the day's own candidate %s", name, ds, own.version)
    return own


def run(spark, cfg: Config) -> dict:
    from pyspark.sql import functions as F

    reg = Registry.from_settings(cfg.settings)
    mv = reg.get(cfg.model, cfg.version) if cfg.version else serving_version(reg, cfg.model, cfg.ds)
    reg.verify(mv)  # a missing or changed model file: one line naming it, not Spark's error at load time
    source = cfg.table or mv.feature_table()
    day = tables.read_day(spark, source, cfg.ds, f"to score with {mv.name} {mv.version}")
    missing = [c for c in cfg.keep if c not in day.columns]
    if missing:
        raise DataError(f"--keep {missing}: not columns of {source}")
    label, kept = carried(spark, cfg.settings, mv)
    # the label when the day has one (a serving day may not), then the pipeline's and --keep's columns
    columns = list(dict.fromkeys([*[c for c in (label, *kept) if c in day.columns], *cfg.keep]))
    columns = [c for c in columns if c not in ("probability", "model_version", *_PARTITIONS)]
    out_table = table_names.scores(cfg.settings)
    with stage(f"scoring {source} ds={cfg.ds} with {mv.name} {mv.version} into {out_table}"):
        scored = (
            score(spark, mv, day)
            .select(*[F.col(f"`{c}`") for c in columns], "probability")
            .withColumn("model_version", F.lit(mv.version))
        )
        scored = tables.align_to_table(spark, scored, out_table, f"{mv.name} {mv.version}'s scores of {source}")
        written = tables.write_delta_partition(scored, out_table, cfg.ds, subpartition={"model": mv.name})
    return {
        "model": mv.name,
        "version": mv.version,
        "table": out_table,
        "rows": written.rows,
        "delta_version": written.version,
        "source": source,
        "label": label if label in columns else None,
        "columns": columns,
    }


if __name__ == "__main__":
    raise SystemExit(main())
