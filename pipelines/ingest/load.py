"""Ingest one day of a declared source into stg.<source>, with quarantine, count check and catalog.

The validated rows are computed once (persisted), then: the quarantine partition is replaced, the
bad-row fraction is checked (above the limit the job fails naming the top reasons, and stg is not
touched), the stg partition is replaced in one Delta commit, the committed row counts are checked
against the input (input = staged + quarantined), and a catalog entry is appended.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from pipelines.common import tables
from pipelines.common.errors import ConfigError, DataError
from pipelines.common.settings import Settings
from pipelines.common.timing import stage
from pipelines.ingest import catalog
from pipelines.ingest.contract import check_drift, validated_text, validated_typed
from pipelines.ingest.sources import read_source_day

log = logging.getLogger("ctrflow.ingest")


def ingest_day(spark, settings: Settings, name: str, ds: dt.date, config_hash: str = "") -> dict:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    sources = settings.sources
    if name not in sources.sources:
        raise ConfigError(f"unknown source '{name}' (declared in sources.yml: {', '.join(sorted(sources.sources))})")
    spec = sources.sources[name]
    contract = sources.contracts[spec.contract]
    day = ds.isoformat()
    run_id = f"{name}-{day}-{uuid.uuid4().hex[:8]}"
    stg = tables.table(settings, "stg", name)
    quarantine = tables.table(settings, "stg", f"{name}_quarantine")

    with stage(f"reading source {name} ds={day}"):
        src = read_source_day(spark, settings, name, spec, ds)
        if spec.kind == "text":
            lines = src.df
            if spec.header:
                lines = lines.where(F.col("value") != spec.delimiter.join(c.name for c in contract.columns))
            observed = f"text: lines split on {spec.delimiter!r}"
            rows = validated_text(lines, contract, spec.delimiter, header=False)
            input_rows = lines.count()
        else:
            extra = check_drift(name, day, src.df.schema, contract)
            if extra:
                log.warning("source %s ds=%s: ignoring new column(s) %s (allow_new_columns)", name, day, extra)
            observed = src.df.schema.simpleString()
            rows = validated_typed(src.df, contract)
            input_rows = src.df.count()
    if input_rows == 0:
        raise DataError(f"source {name} ds={day}: the partition is empty ({src.location})")

    rows = rows.withColumn("_bad", F.size("_reason_keys") > 0).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        with stage(f"validating {input_rows:,} rows against contract {spec.contract}"):
            counts = {bool(r["_bad"]): int(r["count"]) for r in rows.groupBy("_bad").count().collect()}
            bad_rows = counts.get(True, 0)
            bad = rows.where("_bad")
            reasons = catalog.top_reasons(bad) if bad_rows else {}
        with stage(f"writing {bad_rows:,} quarantined rows to {quarantine}"):
            q = bad.select(F.col("_raw").alias("raw"), F.col("_reason").alias("reason"),
                           F.col("_reason_keys").alias("reason_keys"), F.lit(run_id).alias("run_id"))
            q_write = tables.write_delta_partition(q, quarantine, ds)
        fraction = bad_rows / input_rows
        if fraction > spec.max_bad_fraction:
            top = ", ".join(f"{k} ({v:,} rows)" for k, v in list(reasons.items())[:5])
            raise DataError(f"source {name} ds={day}: {bad_rows:,} of {input_rows:,} rows ({fraction:.2%}) break "
                            f"contract {spec.contract}, above max_bad_fraction {spec.max_bad_fraction:.2%}; "
                            f"top reasons: {top}; rows kept in {quarantine}")
        good = rows.where(~F.col("_bad")).select(*[c.out_name for c in contract.columns])
        with stage(f"writing {input_rows - bad_rows:,} rows to {stg} ds={day}"):
            s_write = tables.write_delta_partition(good, stg, ds)
        if s_write.rows + q_write.rows != input_rows:
            raise DataError(f"source {name} ds={day}: {input_rows:,} input rows but {s_write.rows:,} staged + "
                            f"{q_write.rows:,} quarantined were committed")
        with stage("recording the catalog entry"):
            entry = {
                "source": name, "ds": day, "run_id": run_id, "ingested_at": dt.datetime.now(dt.UTC).replace(
                    tzinfo=None), "location": src.location, "input_rows": input_rows,
                "staged_rows": s_write.rows, "quarantined_rows": q_write.rows, "top_reasons": reasons,
                "observed_schema": observed, "stg_table": stg, "stg_version": s_write.version,
                "column_stats": catalog.column_stats(good),
                "sample": [r.asDict() for r in good.limit(spec.sample_rows).collect()],
                "config_hash": config_hash,
            }
            catalog.record(spark, settings, entry)
    finally:
        rows.unpersist()
    return {"source": name, "ds": day, "stg_table": stg, "stg_version": s_write.version, "input_rows": input_rows,
            "staged_rows": s_write.rows, "quarantined_rows": q_write.rows, "top_reasons": reasons,
            "quarantine_table": quarantine}
