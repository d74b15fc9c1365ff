"""Ingest one day of a declared source into stg.<source>, with quarantine, count check and catalog.

On start, scratch data left by killed runs is removed (pipelines.ingest.scratch). One pass reads the
source, validates every row against its contract and writes the typed rows, good and bad, to a scratch
Parquet dataset of the run, while input/bad counts and the good rows' column statistics are observed in
that same pass; the files of the day path that Spark does not read are reported (pipelines.ingest.files).
From the scratch data: the quarantine partition is replaced with the bad rows (tagged with the run id);
above the bad-row limit the run is recorded in the catalog as rejected and the job fails naming the top
reasons (stg is not touched); otherwise the stg partition is replaced in one Delta commit, the committed
row counts are checked against the input (input = staged + quarantined) and a staged catalog entry is
appended. The scratch data is deleted whatever happens.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from pipelines.common import table_names, tables
from pipelines.core.errors import ConfigError, DataError
from pipelines.core.timing import stage
from pipelines.ingest import catalog, files, formats
from pipelines.ingest.contract import check_drift, validated_fields, validated_typed
from pipelines.ingest.scratch import clean_leftovers, scratch_dir
from pipelines.ingest.sources import read_source_day
from pipelines.settings import Settings

log = logging.getLogger("ctrflow.ingest")

# Delta file statistics on every column (default: the first 32), so the catalog's null rates, min and
# max come from the write itself.
STG_PROPERTIES = {"delta.dataSkippingNumIndexedCols": "-1"}


def _validated(spark, settings: Settings, name: str, spec, contract, ds: dt.date):
    """(the source day, its observed schema, its validated rows)."""
    src = read_source_day(spark, settings, name, spec, ds)
    if spec.kind == "text":
        rows, shape_rules = formats.parse(src.df, contract, spec)
        return src, formats.describe(spec), validated_fields(rows, contract, shape_rules)
    extra = check_drift(name, ds.isoformat(), src.df.schema, contract)
    if extra:
        log.warning("source %s ds=%s: ignoring new column(s) %s (allow_new_columns)", name, ds, extra)
    return src, src.df.schema.simpleString(), validated_typed(src.df, contract)


def ingest_day(spark, settings: Settings, name: str, ds: dt.date, config_hash: str = "") -> dict:
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    sources = settings.sources
    if name not in sources.sources:
        raise ConfigError(f"unknown source '{name}' (declared in sources.yml: {', '.join(sorted(sources.sources))})")
    spec = sources.sources[name]
    contract = sources.contracts[spec.contract]
    columns = [c.out_name for c in contract.columns]
    day = ds.isoformat()
    run_id = f"{name}-{day}-{uuid.uuid4().hex[:8]}"
    stg = table_names.staged(settings, name)
    quarantine = table_names.quarantine(settings, name)
    clean_leftovers(spark, settings, name, day)
    scratch = scratch_dir(settings, run_id)

    src, observed, rows = _validated(spark, settings, name, spec, contract, ds)
    location = src.location
    skipped = src.files.summary() if src.files else None
    obs = Observation(f"ingest_{uuid.uuid4().hex[:8]}")
    observed_rows = rows.observe(
        obs,
        F.count(F.lit(1)).alias("__input"),
        F.sum(F.col("_bad").cast("long")).alias("__bad"),
        *catalog.distinct_exprs(columns, ~F.col("_bad")),
    )
    try:
        with stage(f"validating source {name} ds={day} against contract {spec.contract}"):
            observed_rows.write.mode("overwrite").parquet(scratch)
            metrics = obs.get
        input_rows, bad_rows = int(metrics["__input"]), int(metrics["__bad"] or 0)
        good_rows = input_rows - bad_rows
        if input_rows == 0:
            unread = files.skipped_text(skipped)
            raise DataError(
                f"source {name} ds={day}: the partition is empty ({location}{'; ' if unread else ''}{unread})"
            )
        checked = spark.read.parquet(scratch)
        bad = checked.where("_bad")
        reasons = catalog.top_reasons(bad) if bad_rows else []
        with stage(f"writing {bad_rows:,} quarantined rows to {quarantine}"):
            q = bad.select(
                F.col("_raw").alias("raw"),
                F.col("_reason").alias("reason"),
                F.col("_reason_keys").alias("reason_keys"),
                F.lit(run_id).alias("run_id"),
            )
            q_write = tables.write_delta_partition(q, quarantine, ds)
        entry = {
            "source": name,
            "ds": day,
            "run_id": run_id,
            "location": location,
            "input_rows": input_rows,
            "quarantined_rows": q_write.rows,
            "top_reasons": reasons,
            "observed_schema": observed,
            "stg_table": stg,
            "config_hash": config_hash,
            "skipped_files": skipped,
        }
        fraction = bad_rows / input_rows
        if fraction > spec.max_bad_fraction:
            with stage("recording the rejected run in the catalog"):
                catalog.record(
                    spark,
                    settings,
                    {**entry, "status": catalog.REJECTED, "staged_rows": 0, "column_stats": {}, "sample": []},
                )
            top = catalog.reasons_text(reasons, 5, " rows")
            raise DataError(
                f"source {name} ds={day}: {bad_rows:,} of {input_rows:,} rows ({fraction:.2%}) break "
                f"contract {spec.contract}, above max_bad_fraction {spec.max_bad_fraction:.2%}; "
                f"top reasons: {top}; rows kept in {quarantine}, run {run_id} recorded as rejected"
            )
        good = checked.where(~F.col("_bad")).select(*columns)
        with stage(f"writing {good_rows:,} rows to {stg} ds={day}"):
            s_write = tables.write_delta_partition(good, stg, ds, properties=STG_PROPERTIES)
        if s_write.rows + q_write.rows != input_rows:
            raise DataError(
                f"source {name} ds={day}: {input_rows:,} input rows but {s_write.rows:,} staged + "
                f"{q_write.rows:,} quarantined were committed"
            )
        with stage("recording the catalog entry"):
            catalog.record(
                spark,
                settings,
                {
                    **entry,
                    "status": catalog.STAGED,
                    "staged_rows": s_write.rows,
                    "stg_version": s_write.version,
                    "column_stats": catalog.column_stats(
                        tables.commit_file_stats(spark, stg, s_write.version), metrics, columns
                    ),
                    "sample": [r.asDict() for r in good.limit(spec.sample_rows).collect()],
                },
            )
    finally:
        tables.delete_path(spark, scratch)
    return {
        "source": name,
        "ds": day,
        "run_id": run_id,
        "stg_table": stg,
        "stg_version": s_write.version,
        "input_rows": input_rows,
        "staged_rows": s_write.rows,
        "quarantined_rows": q_write.rows,
        "top_reasons": reasons,
        "quarantine_table": quarantine,
        "skipped_files": skipped,
    }
