"""What the data-quality check of a day reads: the day's last staged ingest of a source (counts and ranked
quarantine reasons, from the ingest catalog) and the per-feature PSI of the day against the fitted
pipeline's window (from feat.<pipeline>_stats). Metadata and small tables only; the job `check_quality`
returns it and the Airflow DataQualityOperator judges it (operators/data_quality.py)."""

from __future__ import annotations

import datetime as dt
import json

from pipelines.common import tables
from pipelines.features.flow import stats_table
from pipelines.ingest.catalog import STAGED, catalog_table, ranked_reasons


def day_quality(spark, settings, source: str, pipeline: str, ds: dt.date) -> dict:
    """The day's last ingest counts (from the ingest catalog) and per-feature PSI (from feat.<pipeline>_stats)."""
    from pyspark.sql import functions as F

    day = ds.isoformat()
    ingest = None
    catalog = catalog_table(settings)
    if tables.table_exists(spark, catalog):
        entries = spark.table(catalog).where((F.col("source") == F.lit(source)) & (F.col("ds") == F.lit(day)))
        if "status" in entries.columns:  # the run whose rows stg holds, not a later rejected one
            entries = entries.where(F.col("status").isNull() | (F.col("status") == STAGED))
        rows = entries.orderBy("ingested_at", ascending=False).limit(1).collect()
        if rows:
            r = rows[0]
            ingest = {
                "run_id": r["run_id"],
                "input_rows": r["input_rows"],
                "staged_rows": r["staged_rows"],
                "quarantined_rows": r["quarantined_rows"],
                "top_reasons": ranked_reasons(json.loads(r["top_reasons"] or "[]")),
            }
    stats = stats_table(settings, pipeline)
    drift, model_version = None, None
    if tables.table_exists(spark, stats):
        rows = spark.table(stats).where(F.col("ds") == F.lit(day)).select("feature", "psi", "model_version").collect()
        if rows:  # one row per feature; psi is null where the day was not compared with a window
            drift = {r["feature"]: r["psi"] for r in rows}
            model_version = rows[0]["model_version"]
    return {
        "source": source,
        "catalog": catalog,
        "ingest": ingest,
        "stats_table": stats,
        "model_version": model_version,
        "psi": drift,
    }
