"""Ingest one day of a declared source into stg.<source>, with quarantine, count check and catalog.

One pass reads the source, validates every row against its contract and writes the good rows as the
stg partition's new Delta files, not yet committed (pipelines.common.staged_delta), while input/bad
counts, the files holding bad rows and the good rows' distinct counts are observed in that same pass;
the files of the day path that Spark does not read are reported (pipelines.ingest.files). Then: the
quarantine partition is replaced with the bad rows (tagged with the run id), validated again from only
the files that held them; above the bad-row limit the written files are deleted, the run is recorded in
the catalog as rejected and the job fails naming the top reasons (stg is not touched); otherwise the row
counts of the written files are checked against the input (input = staged + quarantined) and only then
is the stg partition replaced in one Delta commit and a staged catalog entry appended. Nothing is
written twice and nothing is published before it is counted; a killed run's files were never committed
(no reader sees them; VACUUM removes them).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from pipelines.common import table_names, tables
from pipelines.common.staged_delta import StagedPartition
from pipelines.core.errors import ConfigError, DataError
from pipelines.core.timing import stage
from pipelines.ingest import catalog, files, formats
from pipelines.ingest.contract import check_drift, validated_fields, validated_typed
from pipelines.ingest.sources import read_source_day
from pipelines.settings import Settings

log = logging.getLogger("ctrflow.ingest")

# Delta file statistics on every column (default: the first 32), so the catalog's null rates, min and
# max come from the write itself.
STG_PROPERTIES = {"delta.dataSkippingNumIndexedCols": "-1"}


def _observed_schema(src, name: str, spec, contract, ds: dt.date) -> str:
    """What the catalog records as the source's schema; a typed source's schema is checked against its
    contract first (pipelines.ingest.contract.check_drift)."""
    if spec.kind == "text":
        return formats.describe(spec)
    extra = check_drift(name, ds.isoformat(), src.df.schema, contract)
    if extra:
        log.warning("source %s ds=%s: ignoring new column(s) %s (allow_new_columns)", name, ds, extra)
    return src.df.schema.simpleString()


def _validated(src, spec, contract, files: list[str] | None = None):
    """The validated rows of a source day (after _observed_schema), with `_file`, the file each was read
    from; with `files`, only the rows of those files."""
    from pyspark.sql import functions as F

    df = src.df.withColumn("_file", F.input_file_name())
    if files is not None:
        df = df.where(F.col("_file").isin(files))
    if spec.kind == "text":
        rows, shape_rules = formats.parse(df, contract, spec)
        return validated_fields(rows, contract, shape_rules)
    return validated_typed(df, contract)


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
    src = read_source_day(spark, settings, name, spec, ds)
    observed = _observed_schema(src, name, spec, contract, ds)
    rows = _validated(src, spec, contract)
    location = src.location
    skipped = src.files.summary() if src.files else None
    obs = Observation(f"ingest_{uuid.uuid4().hex[:8]}")
    observed_rows = rows.observe(
        obs,
        F.count(F.lit(1)).alias("__input"),
        F.sum(F.col("_bad").cast("long")).alias("__bad"),
        F.collect_set(F.when(F.col("_bad"), F.col("_file"))).alias("__bad_files"),
        *catalog.distinct_exprs(columns, ~F.col("_bad")),
    )
    staged = StagedPartition(spark, stg, ds, properties=STG_PROPERTIES)
    try:
        with stage(f"validating source {name} ds={day} against contract {spec.contract}, writing the good rows"):
            staged.write(observed_rows.where(~F.col("_bad")).select(*columns))
            metrics = obs.get
        input_rows, bad_rows = int(metrics["__input"]), int(metrics["__bad"] or 0)
        good_rows = input_rows - bad_rows
        if input_rows == 0:
            unread = files.skipped_text(skipped)
            raise DataError(
                f"source {name} ds={day}: the partition is empty ({location}{'; ' if unread else ''}{unread})"
            )
        bad_files = sorted(metrics["__bad_files"] or [])
        with stage(f"writing {bad_rows:,} quarantined rows (from {len(bad_files)} file(s)) to {quarantine}"):
            bad = (_validated(src, spec, contract, bad_files) if bad_rows else rows.limit(0)).where("_bad")
            q = bad.select(
                F.col("_raw").alias("raw"),
                F.col("_reason").alias("reason"),
                F.col("_reason_keys").alias("reason_keys"),
                F.lit(run_id).alias("run_id"),
            )
            q_write = tables.write_delta_partition(q, quarantine, ds)
        reasons = []
        if bad_rows:
            kept = spark.table(quarantine).where(F.col("ds") == day)
            reasons = catalog.top_reasons(kept.select(F.col("reason_keys").alias("_reason_keys")))
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
        if fraction > spec.max_bad_fraction:  # the written files are deleted by the `finally` below
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
        if staged.rows != good_rows or staged.rows + q_write.rows != input_rows:
            raise DataError(
                f"source {name} ds={day}: {input_rows:,} input rows ({good_rows:,} good) but {staged.rows:,} "
                f"written to {stg} + {q_write.rows:,} quarantined; nothing was staged"
            )
        with stage(f"committing {good_rows:,} rows to {stg} ds={day}"):
            s_write = staged.commit()
        staged_day = spark.table(stg).where(F.col("ds") == day)
        with stage("recording the catalog entry"):
            catalog.record(
                spark,
                settings,
                {
                    **entry,
                    "status": catalog.STAGED,
                    "staged_rows": s_write.rows,
                    "stg_version": s_write.version,
                    "column_stats": catalog.column_stats(staged.file_stats, metrics, columns),
                    "sample": [r.asDict() for r in staged_day.select(*columns).limit(spec.sample_rows).collect()],
                },
            )
    finally:
        staged.discard()
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
