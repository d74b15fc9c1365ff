"""What the metastore holds: tables of each data layer, their format, partitions and locations."""

from __future__ import annotations

from pipelines.common.tables import table_detail
from pipelines.core.names import check_table, quote_ident
from pipelines.settings import Settings


def describe_tables(spark, settings: Settings) -> str:
    """A text listing of every table in the raw/stg/feat/out databases (metadata only, no scans)."""
    lines = [
        f"metastore: {spark.conf.get('spark.sql.catalogImplementation')}, "
        f"warehouse {spark.conf.get('spark.sql.warehouse.dir')}"
    ]
    dbs = settings.project.databases
    for layer in ("raw", "stg", "feat", "out"):
        db = getattr(dbs, layer)
        if not spark.catalog.databaseExists(db):
            lines.append(f"{layer} ({db}): no database yet")
            continue
        tabs = spark.catalog.listTables(db)
        lines.append(f"{layer} ({db}): {len(tabs)} table(s)")
        for t in sorted(tabs, key=lambda t: t.name):
            name = f"{db}.{t.name}"
            try:
                check_table(name)
            except ValueError as e:  # made outside ctrflow: listed, never put into SQL
                lines.append(f"  {name:<32} not inspected: {e}")
                continue
            quoted = quote_ident(name)
            detail = spark.sql(f"DESCRIBE DETAIL {quoted}").first() if _is_delta(spark, name) else None
            if detail is not None:
                parts = (
                    [r[0] for r in spark.sql(f"SELECT DISTINCT ds FROM {quoted} ORDER BY ds").collect()]
                    if "ds" in detail["partitionColumns"]
                    else []
                )
                lines.append(f"  {name:<32} delta   {len(parts)} partition(s) {_days(parts)}  {detail['location']}")
            else:
                parts = (
                    [r[0].split("=", 1)[1] for r in spark.sql(f"SHOW PARTITIONS {quoted}").collect()]
                    if _is_partitioned(spark, name)
                    else []
                )
                lines.append(f"  {name:<32} {t.tableType.lower():<7} {len(parts)} partition(s) {_days(parts)}")
    return "\n".join(lines)


def _days(parts: list[str]) -> str:
    if not parts:
        return ""
    return f"[{parts[0]} .. {parts[-1]}]" if len(parts) > 1 else f"[{parts[0]}]"


def _is_delta(spark, name: str) -> bool:
    return (table_detail(spark, name).get("Provider") or "").lower() == "delta"


def _is_partitioned(spark, name: str) -> bool:
    return any(c.isPartition for c in spark.catalog.listColumns(name))
