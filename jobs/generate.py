"""Generate a day of synthetic Criteo-shaped click logs (raw Hive table, optional TSV) and their ceiling.

Rows are drawn on executors from the planted ground-truth model of conf/base/synth.yml; the same seed
and ds always give the same rows. Writes raw.<synth.table> partition ds (a rerun replaces it),
optionally Criteo-format TSV files under <state>/landing/<table>/ds=<ds>/, and the planted model's own
AUC / logloss on the rows (the ceiling for trained models) to raw.<table>_ceiling (Delta).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs._harness import JobConfig, main
from pipelines.common import tables
from pipelines.common.timing import stage
from pipelines.eval.metrics import binary_metrics
from pipelines.synth.generator import SPARK_DDL, generate, score_with_truth
from pipelines.synth.planted import PlantedModel


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    tsv: bool | None = field(default=None, metadata={"help": "also write Criteo TSV files (overrides synth.write_tsv)"})


def landing_path(settings, table: str, ds) -> str:
    """Where the TSV files of a day land (what an `ingest` source of kind tsv points at)."""
    return settings.project.path("landing", table, f"ds={ds.isoformat()}")


def run(spark, cfg: Config) -> dict:
    s = cfg.settings.synth
    raw = tables.table(cfg.settings, "raw", s.table)
    with stage("calibrating the planted model"):
        model = PlantedModel.from_settings(s)
    rows = generate(spark, s, cfg.ds, model)
    with stage(f"writing {s.rows_per_day:,} rows to {raw} ds={cfg.ds}"):
        tables.overwrite_hive_partition(rows, raw, cfg.ds, SPARK_DDL)
    out = {"table": raw, "rows": s.rows_per_day}
    if s.write_tsv if cfg.tsv is None else cfg.tsv:
        final = landing_path(cfg.settings, s.table, cfg.ds)
        staged = f"{final}.tmp-{spark.sparkContext.applicationId}"
        with stage(f"writing Criteo TSV to {final}"):
            (spark.table(raw).where(f"ds = '{cfg.ds.isoformat()}'").drop("ds").write.mode("overwrite")
             .option("sep", "\t").option("header", False).option("nullValue", "").csv(staged))
            tables.replace_dir(spark, staged, final)
        out["tsv"] = final
    with stage("scoring the stored rows with the planted model (the ceiling)"):
        stored = spark.table(raw).where(f"ds = '{cfg.ds.isoformat()}'")
        m = binary_metrics(score_with_truth(stored, model), "label", "p_true")
    if m.rows != s.rows_per_day:
        from pipelines.common.errors import DataError

        raise DataError(f"{raw} ds={cfg.ds} holds {m.rows} rows, expected {s.rows_per_day}")
    ceiling = spark.createDataFrame([{**m.as_dict(), "seed": s.seed, "intercept": model.intercept}])
    with stage("recording the ceiling"):
        out["ceiling_table"] = tables.table(cfg.settings, "raw", f"{s.table}_ceiling")
        out["ceiling_version"] = tables.write_delta_partition(ceiling, out["ceiling_table"], cfg.ds).version
    out.update(positive_rate=round(m.ctr, 5), ceiling_auc=round(m.auc, 5), ceiling_logloss=round(m.logloss, 5),
               ceiling_ne=round(m.ne, 5))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
