"""Reading one day of a declared source, and telling whether that day is there yet.

A missing source, a missing partition or an empty one is a DataError that names the source, the day
and the table or path: never a silent empty load.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipelines.common.errors import DataError
from pipelines.common.settings import Settings, resolve_path
from pipelines.common.tables import path_exists
from pipelines.ingest.settings import SourceSpec

_DAY_NAMES = ("ds", "dt", "date", "day", "event_date", "partition_date")


@dataclass(frozen=True)
class SourceDay:
    """What a source holds for a day: a DataFrame (typed columns, or one `value` line per row for
    text sources) and where it came from."""

    df: object
    location: str
    partition_column: str | None


def source_path(settings: Settings, spec: SourceSpec, ds: dt.date | None = None) -> str:
    """The path of a file source; relative paths live under project.state_dir; {ds} is the day."""
    path = spec.path or ""
    if ds is not None:
        path = path.replace("{ds}", ds.isoformat())
    if "://" in path or path.startswith("/"):
        return resolve_path(path)
    return settings.project.path(path)


def hive_partition_column(spark, table: str, spec: SourceSpec) -> str | None:
    """The declared partition column, else the table's day-like partition column (auto-detected)."""
    parts = [c.name for c in spark.catalog.listColumns(table) if c.isPartition]
    if spec.partition_column:
        if spec.partition_column not in parts:
            raise DataError(f"{table}: '{spec.partition_column}' is not a partition column (partitions: {parts})")
        return spec.partition_column
    if not parts:
        return None
    for name in _DAY_NAMES:
        if name in [p.lower() for p in parts]:
            return next(p for p in parts if p.lower() == name)
    return parts[0]


def hive_partitions(spark, table: str, column: str) -> list[str]:
    rows = spark.sql(f"SHOW PARTITIONS {table}").collect()
    values = []
    for r in rows:
        for kv in r[0].split("/"):
            k, _, v = kv.partition("=")
            if k == column:
                values.append(v)
    return sorted(set(values))


def file_partitions(spark, settings: Settings, spec: SourceSpec) -> list[str]:
    """Days present under a file source: the ds=... directories (or {ds} in the path template)."""
    if "{ds}" not in (spec.path or "") and spec.kind != "parquet":
        return []
    jvm = spark.sparkContext._jvm
    template = source_path(settings, spec)
    parent = template.split("{ds}")[0].rsplit("/", 1)[0] if "{ds}" in template else template
    prefix = template.split("{ds}")[0].rsplit("/", 1)[1] if "{ds}" in template else f"{spec.partition_column or 'ds'}="
    p = jvm.org.apache.hadoop.fs.Path(parent)
    fs = p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(p):
        return []
    days = []
    for st in fs.listStatus(p):
        name = st.getPath().getName()
        if st.isDirectory() and name.startswith(prefix):
            days.append(name[len(prefix):])
    return sorted(days)


def read_source_day(spark, settings: Settings, name: str, spec: SourceSpec, ds: dt.date) -> SourceDay:
    """The rows of `ds` in a source (lazy). Raises DataError when the source or the day is missing."""
    from pyspark.sql import functions as F

    day = ds.isoformat()
    if spec.kind == "hive":
        table = spec.table or ""
        if not spark.catalog.tableExists(table):
            raise DataError(f"source {name}: Hive table {table} does not exist")
        col = hive_partition_column(spark, table, spec)
        df = spark.table(table)
        if col:
            available = hive_partitions(spark, table, col)
            if day not in available:
                raise DataError(f"source {name}: no partition {col}={day} in {table} "
                                f"(latest: {', '.join(available[-3:]) or 'none'})")
            return SourceDay(df.where(F.col(col) == day).drop(col), f"{table}/{col}={day}", col)
        if not spec.date_column:
            raise DataError(f"source {name}: {table} is not partitioned and has no date_column to select {day}")
        return SourceDay(df.where(F.to_date(F.col(spec.date_column)) == F.lit(day).cast("date")),
                         f"{table} where {spec.date_column}={day}", None)
    if spec.kind == "parquet":
        base = source_path(settings, spec, ds)
        if spec.date_column:
            if not path_exists(spark, base):
                raise DataError(f"source {name}: path {base} does not exist")
            df = spark.read.parquet(base)
            return SourceDay(df.where(F.to_date(F.col(spec.date_column)) == F.lit(day).cast("date")),
                             f"{base} where {spec.date_column}={day}", None)
        col = spec.partition_column or "ds"
        path = base if "{ds}" in (spec.path or "") else f"{base.rstrip('/')}/{col}={day}"
        if not path_exists(spark, path):
            raise DataError(f"source {name}: no partition at {path}")
        return SourceDay(spark.read.parquet(path), path, col)
    path = source_path(settings, spec, ds)
    if not path_exists(spark, path):
        raise DataError(f"source {name}: no files at {path}")
    lines = spark.read.text(path)
    return SourceDay(lines, path, None)


def partition_available(spark, settings: Settings, name: str, ds: dt.date) -> tuple[bool, str]:
    """(available, detail) for a source's day, from metadata only (what an Airflow sensor pokes)."""
    spec = settings.sources.sources.get(name)
    if spec is None:
        return False, f"no source named {name}"
    day = ds.isoformat()
    if spec.kind == "hive":
        table = spec.table or ""
        if not spark.catalog.tableExists(table):
            return False, f"Hive table {table} does not exist"
        col = hive_partition_column(spark, table, spec)
        if col is None:
            return True, f"{table} is not partitioned"
        ok = day in hive_partitions(spark, table, col)
        return ok, f"{table} {col}={day} {'present' if ok else 'absent'}"
    if spec.kind == "parquet" and not spec.date_column and "{ds}" not in (spec.path or ""):
        path = f"{source_path(settings, spec).rstrip('/')}/{spec.partition_column or 'ds'}={day}"
    else:
        path = source_path(settings, spec, ds)
    ok = path_exists(spark, path)
    return ok, f"{path} {'present' if ok else 'absent'}"


def available_partitions(spark, settings: Settings, spec: SourceSpec) -> list[str]:
    """The days a source has (metadata only); [] when the source itself is missing."""
    if spec.kind == "hive":
        table = spec.table or ""
        if not spark.catalog.tableExists(table):
            return []
        col = hive_partition_column(spark, table, spec)
        return hive_partitions(spark, table, col) if col else []
    return file_partitions(spark, settings, spec)
