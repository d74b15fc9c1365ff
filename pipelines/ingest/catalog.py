"""The ingest catalog: one row per ingest run with counts, reasons, schema, stats and a sample.

Stored as the Delta table stg.<sources.catalog_table>; later jobs and reports read it with
`last_ingests`. Statistics are one aggregation over the staged rows; the sample is a few rows.
"""

from __future__ import annotations

import json

from pipelines.common import tables
from pipelines.common.settings import Settings

CATALOG_DDL = (
    "source string, ds string, run_id string, ingested_at timestamp, location string, input_rows bigint, "
    "staged_rows bigint, quarantined_rows bigint, top_reasons string, observed_schema string, "
    "stg_table string, stg_version bigint, column_stats string, sample string, config_hash string"
)


def catalog_table(settings: Settings) -> str:
    return tables.table(settings, "stg", settings.sources.catalog_table)


def column_stats(df) -> dict[str, dict]:
    """Per column: null rate, approximate distinct count, min and max (one pass over df)."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("__n")]
    for c in df.columns:
        col = F.col(f"`{c}`")
        aggs += [F.sum(col.isNull().cast("long")).alias(f"{c}__nulls"),
                 F.approx_count_distinct(col, 0.05).alias(f"{c}__distinct"),
                 F.min(col).cast("string").alias(f"{c}__min"), F.max(col).cast("string").alias(f"{c}__max")]
    row = df.agg(*aggs).first().asDict()
    n = row["__n"] or 0
    return {c: {"null_rate": (row[f"{c}__nulls"] or 0) / n if n else None,
                "distinct": row[f"{c}__distinct"], "min": row[f"{c}__min"], "max": row[f"{c}__max"]}
            for c in df.columns}


def top_reasons(bad, limit: int = 10) -> dict[str, int]:
    """Most frequent broken rules among quarantined rows (rule -> rows)."""
    from pyspark.sql import functions as F

    rows = (bad.select(F.explode("_reason_keys").alias("r")).groupBy("r").count()
            .orderBy(F.desc("count"), "r").limit(limit).collect())
    return {r["r"]: int(r["count"]) for r in rows}


def record(spark, settings: Settings, entry: dict) -> None:
    """Append one run's entry to the catalog table (created on first use)."""
    name = catalog_table(settings)
    tables.ensure_database(spark, name)
    row = {**entry, **{k: json.dumps(entry[k], default=str, sort_keys=True)
                       for k in ("top_reasons", "column_stats", "sample")}}
    spark.createDataFrame([row], CATALOG_DDL).write.format("delta").mode("append").saveAsTable(name)


def last_ingests(spark, settings: Settings, source: str | None = None, limit: int = 20) -> list[dict]:
    """The latest catalog entries, newest first (optionally of one source)."""
    from pyspark.sql import functions as F

    name = catalog_table(settings)
    if not spark.catalog.tableExists(name):
        return []
    df = spark.table(name)
    if source:
        df = df.where(F.col("source") == source)
    rows = df.orderBy(F.desc("ingested_at")).limit(limit).collect()
    out = []
    for r in rows:
        d = r.asDict()
        for k in ("top_reasons", "column_stats", "sample"):
            d[k] = json.loads(d[k]) if d[k] else None
        out.append(d)
    return out
