"""The ingest catalog: one row per ingest run with counts, reasons, schema, stats and a sample, and its
status: `staged`, or `rejected` (above max_bad_fraction: its quarantine was committed, stg was not).

Stored as the Delta table stg.<sources.catalog_table>; later jobs and reports read it with
`last_ingests`. Statistics come from that pass and the Delta commit; the sample is a few rows.
"""

from __future__ import annotations

import datetime as dt
import json

from pipelines.common import table_names, tables
from pipelines.settings import Settings

CATALOG_DDL = (
    "source string, ds string, run_id string, ingested_at timestamp, location string, input_rows bigint, "
    "staged_rows bigint, quarantined_rows bigint, top_reasons string, observed_schema string, "
    "stg_table string, stg_version bigint, column_stats string, sample string, config_hash string, "
    "skipped_files string, status string"
)
_COLUMNS = [part.split()[0] for part in CATALOG_DDL.split(", ")]
STAGED, REJECTED = "staged", "rejected"  # a run's status (entries written before statuses were staged runs)
# JSON-valued columns; columns added after a catalog table was created are merged into it on append
_JSON = ("top_reasons", "column_stats", "sample", "skipped_files")


def catalog_table(settings: Settings) -> str:
    return table_names.ingest_catalog(settings)


def distinct_exprs(columns: list[str], good) -> list:
    """Approximate distinct counts of the good rows' columns, for DataFrame.observe: computed in the pass
    that validates the rows. (Null rates, min and max come from the Delta commit's file statistics.)"""
    from pyspark.sql import functions as F

    return [
        F.approx_count_distinct(F.when(good, F.col(f"`{c}`")), 0.05).alias(f"distinct_{i}")
        for i, c in enumerate(columns)
    ]


def column_stats(file_stats: list[dict], metrics: dict, columns: list[str]) -> dict[str, dict]:
    """Per column of the staged rows: null rate, min and max (merged from the Delta file statistics of
    the commit) and the approximate distinct count (observed)."""
    n = sum(f.get("numRecords", 0) for f in file_stats)
    out = {}
    for i, c in enumerate(columns):
        nulls = [f["nullCount"][c] for f in file_stats if c in f.get("nullCount", {})]
        mins = [f["minValues"][c] for f in file_stats if f.get("minValues", {}).get(c) is not None]
        maxs = [f["maxValues"][c] for f in file_stats if f.get("maxValues", {}).get(c) is not None]
        out[c] = {
            "null_rate": sum(nulls) / n if n and len(nulls) == len(file_stats) else None,
            "distinct": metrics.get(f"distinct_{i}"),
            "min": str(min(mins)) if mins else None,
            "max": str(max(maxs)) if maxs else None,
        }
    return out


def top_reasons(bad, limit: int = 10) -> list[dict]:
    """Most frequent broken rules among quarantined rows: [{"reason", "rows"}], most rows first (ties by
    name). A list, not a mapping, so that the ranking survives JSON with sorted keys and reading back."""
    from pyspark.sql import functions as F

    rows = (
        bad.select(F.explode("_reason_keys").alias("r"))
        .groupBy("r")
        .count()
        .orderBy(F.desc("count"), "r")
        .limit(limit)
        .collect()
    )
    return [{"reason": r["r"], "rows": int(r["count"])} for r in rows]


def ranked_reasons(value) -> list[dict]:
    """Reasons as `top_reasons` returns them, from a stored or returned value: the list, or the
    {reason: rows} object older catalog entries hold (stored with sorted keys: re-ranked here)."""
    if not value:
        return []
    pairs = value.items() if isinstance(value, dict) else ((r["reason"], r["rows"]) for r in value)
    return [{"reason": k, "rows": int(v)} for k, v in sorted(pairs, key=lambda kv: (-int(kv[1]), kv[0]))]


def reasons_text(value, limit: int, unit: str = "") -> str:
    """'reason (rows unit), ...' of the `limit` most frequent reasons, most rows first."""
    return ", ".join(f"{r['reason']} ({r['rows']:,}{unit})" for r in ranked_reasons(value)[:limit])


def record(spark, settings: Settings, entry: dict) -> None:
    """Append one run's entry to the catalog table (created on first use); `ingested_at` is now, and
    columns the entry does not have (a rejected run has no stg version) are null."""
    name = catalog_table(settings)
    tables.ensure_database(spark, name)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    row = {
        **dict.fromkeys(_COLUMNS),
        "ingested_at": now,
        **entry,
        **{k: json.dumps(entry.get(k), default=str, sort_keys=True) for k in _JSON},
    }
    (
        spark.createDataFrame([row], CATALOG_DDL)
        .write.format("delta")
        .mode("append")
        .option("mergeSchema", "true")
        .saveAsTable(name)
    )


def last_ingests(spark, settings: Settings, source: str | None = None, limit: int = 20) -> list[dict]:
    """The latest catalog entries, newest first (optionally of one source): staged and rejected runs
    (`status`; entries written before runs had a status are staged ones)."""
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
        for k in _JSON:
            d[k] = json.loads(d[k]) if d.get(k) else None
        d["top_reasons"] = ranked_reasons(d["top_reasons"])
        d["status"] = d.get("status") or STAGED
        out.append(d)
    return out
