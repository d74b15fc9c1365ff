"""Generate a day of synthetic click logs (raw Hive table, optional landing files) and their ceiling.

Rows are drawn on executors from the planted ground-truth model of synth.profile (conf/base/synth.yml:
`planted`, `criteo_like`, `avazu_like` or `recs`); the same seed and ds always give the same rows. Writes
raw.<table> partition ds (a rerun replaces it), optionally landing files under <state>/landing/<table>/
(Criteo-format TSV in ds=<ds>/ for Criteo's columns; for avazu_like, CSV with a header and quoted
fields in hourly directories ds=<ds>/hr=<HH>/), and the planted model's own AUC / logloss on the rows
(the ceiling for trained models) to raw.<table>_ceiling (Delta).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import table_names, tables
from pipelines.core.timing import stage
from pipelines.eval.metrics import binary_metrics
from pipelines.synth.generator import generate, make_profile, score_with_truth


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    tsv: bool | None = field(
        default=None, metadata={"help": "also write the landing text files (overrides synth.write_tsv)"}
    )


def landing_path(settings, table: str, ds) -> str:
    """Where the text files of a day land (what an `ingest` text source points at)."""
    return settings.project.path("landing", table, f"ds={ds.isoformat()}")


def write_landing(spark, day, profile, final: str) -> None:
    """The day's rows as text files, atomically: Criteo TSV (no header, empty = missing) for Criteo's
    columns; for avazu_like CSV with a header and every field quoted, one directory per hour; for recs
    CSV with a header (empty = missing) in ds=<ds>/."""
    from pyspark.sql import functions as F

    staged = f"{final}.tmp-{spark.sparkContext.applicationId}"
    if profile.name == "avazu_like":
        (
            day.withColumn("hr", F.lpad((F.col("hour") % 100).cast("string"), 2, "0"))
            .write.mode("overwrite")
            .partitionBy("hr")
            .option("header", True)
            .option("quoteAll", True)
            .csv(staged)
        )
    elif profile.name == "recs":
        day.write.mode("overwrite").option("header", True).option("nullValue", "").csv(staged)
    else:
        day.write.mode("overwrite").option("sep", "\t").option("header", False).option("nullValue", "").csv(staged)
    tables.replace_dir(spark, staged, final)


def run(spark, cfg: Config) -> dict:
    s = cfg.settings.synth
    raw = table_names.raw(cfg.settings, s.table_name)
    with stage(f"calibrating the planted model of profile {s.profile}"):
        profile = make_profile(s)
    rows = generate(spark, s, cfg.ds, profile)
    with stage(f"writing {s.rows_per_day:,} rows to {raw} ds={cfg.ds}"):
        tables.overwrite_hive_partition(rows, raw, cfg.ds, profile.spark_ddl)
    out = {"table": raw, "rows": s.rows_per_day, "profile": s.profile}
    stored = spark.table(raw).where(f"ds = '{cfg.ds.isoformat()}'")
    if s.write_tsv if cfg.tsv is None else cfg.tsv:
        final = landing_path(cfg.settings, s.table_name, cfg.ds)
        with stage(f"writing the landing files to {final}"):
            write_landing(spark, stored.drop("ds"), profile, final)
        out["landing"] = final
    with stage("scoring the stored rows with the planted model (the ceiling)"):
        m = binary_metrics(score_with_truth(stored, profile), profile.label, "p_true")
    if m.rows != s.rows_per_day:
        from pipelines.core.errors import DataError

        raise DataError(f"{raw} ds={cfg.ds} holds {m.rows} rows, expected {s.rows_per_day}")
    ceiling = spark.createDataFrame([{**m.as_dict(), "seed": s.seed, "intercept": float(profile.intercept)}])
    with stage("recording the ceiling"):
        out["ceiling_table"] = table_names.ceiling(cfg.settings, s.table_name)
        out["ceiling_version"] = tables.write_delta_partition(ceiling, out["ceiling_table"], cfg.ds).version
    out.update(
        positive_rate=round(m.ctr, 5),
        ceiling_auc=round(m.auc, 5),
        ceiling_logloss=round(m.logloss, 5),
        ceiling_ne=round(m.ne, 5),
    )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
