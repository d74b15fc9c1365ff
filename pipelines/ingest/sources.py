"""Reading one day of a declared source, and telling whether that day is there yet.

A missing source, a missing partition or an empty one is a DataError that names the source, the day
and the table or path: never a silent empty load.

A day may be made of hours: hourly partition values (`partition_format: yyMMddHH`), a path template
whose glob matches every hour of the day (`landing/avazu/hour={yymmdd}*`), or a `date_column` read with
`date_format`. The day's rows are the union of its hours, the days a source has are derived from what
the hours say, and a day with only some hours present is still a day (how many were found is logged).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import unquote

from pipelines.common import table_names
from pipelines.common.tables import hadoop_fs, path_exists
from pipelines.core.errors import DataError
from pipelines.core.layout import DayMatcher, PartitionFormat, glob_all_days, has_day, has_glob, render
from pipelines.ingest.files import FileAccount, account, log_skipped
from pipelines.ingest.formats import read_lines
from pipelines.settings import Settings, resolve_path
from pipelines.settings.sources import SourceSpec

log = logging.getLogger("ctrflow.ingest")

_DAY_NAMES = ("ds", "dt", "date", "day", "event_date", "partition_date")


@dataclass(frozen=True)
class SourceDay:
    """What a source holds for a day: a DataFrame (typed columns, or one `_in` line per row for text
    sources), where it came from and, for a file source, which files under the day path are read and
    which are skipped (with why)."""

    df: object
    location: str
    partition_column: str | None
    files: FileAccount | None = None


def _ident(name: str) -> str:
    """A column or table name quoted for Spark SQL (`db`.`table`)."""
    return ".".join(f"`{part.replace('`', '``')}`" for part in name.split("."))


def source_path(settings: Settings, spec: SourceSpec, ds: dt.date | None = None) -> str:
    """The path of a file source; relative paths live under project.state_dir; with `ds`, the day's
    placeholders ({ds}, {ds_nodash}, {yymmdd}, {yyyy}/{mm}/{dd}) are filled in (globs stay)."""
    path = spec.path or ""
    if ds is not None:
        path = render(path, ds)
    if "://" in path or path.startswith("/"):
        return resolve_path(path)
    return settings.project.path(path)


def _matches(spark, pattern: str) -> list[tuple[str, str, bool]]:
    """(path, name, is_dir) of what a Hadoop glob matches, hidden names (_SUCCESS, .crc) left out, sorted."""
    fs, p = hadoop_fs(spark, pattern)
    found = fs.globStatus(p) or []
    out = [(st.getPath().toString(), st.getPath().getName(), bool(st.isDirectory())) for st in found]
    return sorted(m for m in out if not m[1].startswith(("_", ".")))


def _existing(spark, path: str) -> list[str]:
    """The paths to read for a day: what a glob matches (Spark is given the list, so it never guesses
    at a glob), or the path itself when it exists."""
    if has_glob(path):
        return [p for p, _, _ in _matches(spark, path)]
    return [path] if path_exists(spark, path) else []


def _partition_columns(spark, table: str) -> list[str]:
    return [c.name for c in spark.catalog.listColumns(table) if c.isPartition]


def hive_partition_column(spark, table: str, spec: SourceSpec) -> str | None:
    """The declared partition column, else the table's day-like partition column (auto-detected)."""
    parts = _partition_columns(spark, table)
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
    """The values of one partition column of a metastore table, sorted (metadata only)."""
    rows = spark.sql(f"SHOW PARTITIONS {_ident(table)}").collect()
    values = []
    for r in rows:
        for kv in r[0].split("/"):
            k, _, v = kv.partition("=")
            if k == column:
                values.append(unquote(v))  # the metastore escapes ':' and '/' in values as %3A, %2F
    return sorted(set(values))


def _days(values: list[str], fmt: PartitionFormat) -> list[str]:
    return sorted({d.isoformat() for d in map(fmt.day_of, values) if d is not None})


def _of_day(values: list[str], fmt: PartitionFormat, ds: dt.date) -> list[str]:
    return [v for v in values if fmt.day_of(v) == ds]


def _wanted(col: str, fmt: PartitionFormat, ds: dt.date) -> str:
    """How a missing day is named in messages: the value itself, or the day and the pattern of its hours."""
    return f"{col}={fmt.format(ds)}" if fmt.daily else f"{col} of {ds} (as {fmt.pattern})"


def _log_found(name: str, ds: dt.date, what: str, found: list[str], fmt: PartitionFormat | None = None) -> None:
    """Log how much of a day was found: an hourly day with hours missing is still ingested, but said so."""
    if fmt is not None and not fmt.daily:
        hours = len({h for h in map(fmt.hour_of, found) if h is not None})
        level = logging.INFO if hours >= 24 else logging.WARNING
        log.log(
            level,
            "source %s ds=%s: %d of 24 hours found in %s (%d partitions: %s … %s)",
            name,
            ds,
            hours,
            what,
            len(found),
            found[0],
            found[-1],
        )
    elif len(found) > 1:
        log.info("source %s ds=%s: %d paths match %s (%s … %s)", name, ds, len(found), what, found[0], found[-1])


def _parquet_day_paths(spark, base: str, col: str, fmt: PartitionFormat, ds: dt.date) -> tuple[list[str], str]:
    """(directories, what was looked for) of a day under `<base>/<col>=<value>/` directories."""
    base = base.rstrip("/")
    if fmt.daily:
        path = f"{base}/{col}={fmt.format(ds)}"
        return _existing(spark, path), path
    prefix = f"{col}="
    dirs = [(p, n[len(prefix) :]) for p, n, is_dir in _matches(spark, f"{base}/{prefix}*") if is_dir]
    return [p for p, value in dirs if fmt.day_of(unquote(value)) == ds], f"{base}/{_wanted(col, fmt, ds)}"


def file_partitions(spark, settings: Settings, spec: SourceSpec) -> list[str]:
    """Days present under a file source: from the paths its template matches, or its <col>=<value> dirs."""
    template = source_path(settings, spec)
    if has_day(spec.path or ""):
        matcher = DayMatcher.of(template)
        days = {matcher.day_of(p) for p, _, _ in _matches(spark, glob_all_days(template))}
        return sorted(d.isoformat() for d in days if d is not None)
    if spec.kind != "parquet":
        return []
    prefix = f"{spec.partition_column or 'ds'}="
    values = [
        unquote(n[len(prefix) :]) for _, n, is_dir in _matches(spark, f"{template.rstrip('/')}/{prefix}*") if is_dir
    ]
    return _days(values, PartitionFormat(spec.partition_format))


def _day_of_column(spec: SourceSpec):
    """The day of each row from `date_column` (a date or timestamp, or text in `date_format`)."""
    from pyspark.sql import functions as F

    col = F.col(_ident(spec.date_column or ""))
    if spec.date_format:
        # try_: a value that does not fit the format belongs to no day rather than failing the read
        return F.to_date(F.try_to_timestamp(col.cast("string"), F.lit(spec.date_format)))
    return F.to_date(col)


def hive_table(settings: Settings, spec: SourceSpec) -> str:
    """A hive source's table: `db.table` as written; a bare `table` is in project.databases.raw (where
    `generate` writes), so the shipped sources follow a renamed raw database."""
    name = spec.table or ""
    return name if "." in name else table_names.raw(settings, name)


def _hive_day(spark, settings: Settings, name: str, spec: SourceSpec, ds: dt.date) -> SourceDay:
    from pyspark.sql import functions as F

    day = ds.isoformat()
    table = hive_table(settings, spec)
    if not spark.catalog.tableExists(table):
        raise DataError(f"source {name}: Hive table {table} does not exist")
    col = hive_partition_column(spark, table, spec)
    df = spark.table(table)
    if col is None:
        if not spec.date_column:
            raise DataError(f"source {name}: {table} is not partitioned and has no date_column to select {day}")
        return SourceDay(
            df.where(_day_of_column(spec) == F.lit(day).cast("date")), f"{table} where {spec.date_column}={day}", None
        )
    fmt = PartitionFormat(spec.partition_format)
    available = hive_partitions(spark, table, col)
    values = _of_day(available, fmt, ds)
    if not values:
        unfit = f"; no value fits partition_format {fmt.pattern!r}" if available and not _days(available, fmt) else ""
        raise DataError(
            f"source {name}: no partition {_wanted(col, fmt, ds)} in {table} "
            f"(latest: {', '.join(available[-3:]) or 'none'}{unfit})"
        )
    _log_found(name, ds, f"{table}.{col}", values, fmt)
    # finer partition columns (an hour under the day) are layout, folded into ds, unless the contract has them
    contract = {c.name.lower() for c in settings.sources.contracts[spec.contract].columns}
    finer = [p for p in _partition_columns(spark, table) if p != col and p.lower() not in contract]
    rows = df.where(F.col(_ident(col)).cast("string").isin(values)).drop(col, *finer)
    where = f"{col}={values[0]}" if len(values) == 1 else f"{col}={values[0]}..{values[-1]} ({len(values)} partitions)"
    return SourceDay(rows, f"{table}/{where}", col)


def _accounted(spark, name: str, ds: dt.date, df, where: str, patterns: list[str], base: str | None = None):
    """The day's files read and skipped (logged when some are skipped)."""
    files = account(spark, df, patterns, base)
    log_skipped(name, ds, where, files)
    return files


def _parquet_day(spark, settings: Settings, name: str, spec: SourceSpec, ds: dt.date) -> SourceDay:
    from pyspark.sql import functions as F

    day = ds.isoformat()
    base = source_path(settings, spec, ds)
    if spec.date_column:
        paths = _existing(spark, base)
        if not paths:
            raise DataError(f"source {name}: path {base} does not exist")
        df = spark.read.parquet(*paths)
        return SourceDay(
            df.where(_day_of_column(spec) == F.lit(day).cast("date")),
            f"{base} where {spec.date_column}={day}",
            None,
            _accounted(spark, name, ds, df, base, [base]),
        )
    col = spec.partition_column or "ds"
    if has_day(spec.path or ""):
        paths, what = _existing(spark, base), base
        found, fmt, patterns, rel_base = paths, None, [base], None
    else:
        fmt = PartitionFormat(spec.partition_format)
        paths, what = _parquet_day_paths(spark, base, col, fmt, ds)
        found = [unquote(p.rsplit(f"{col}=", 1)[-1]) for p in paths]
        patterns, rel_base = ([what], None) if fmt.daily else (paths, base)
    if not paths:
        raise DataError(f"source {name}: no partition at {what}")
    _log_found(name, ds, what, found, fmt)
    df = spark.read.parquet(*paths)
    return SourceDay(df, what, col, _accounted(spark, name, ds, df, what, patterns, rel_base))


def _text_day(spark, settings: Settings, name: str, spec: SourceSpec, ds: dt.date) -> SourceDay:
    path = source_path(settings, spec, ds)
    paths = _existing(spark, path)
    if not paths:
        raise DataError(f"source {name}: no files at {path}")
    _log_found(name, ds, path, paths)
    df = read_lines(spark, paths, spec.header)
    return SourceDay(df, path, None, _accounted(spark, name, ds, df, path, [path]))


def read_source_day(spark, settings: Settings, name: str, spec: SourceSpec, ds: dt.date) -> SourceDay:
    """The rows of `ds` in a source (lazy). Raises DataError when the source or the day is missing."""
    if spec.kind == "hive":
        return _hive_day(spark, settings, name, spec, ds)
    if spec.kind == "parquet":
        return _parquet_day(spark, settings, name, spec, ds)
    return _text_day(spark, settings, name, spec, ds)


def partition_available(spark, settings: Settings, name: str, ds: dt.date) -> tuple[bool, str]:
    """(available, detail) for a source's day, from metadata only (what an Airflow sensor pokes). A day
    of hours is available as soon as one hour is: schedule the sensor after the day has closed."""
    spec = settings.sources.sources.get(name)
    if spec is None:
        return False, f"no source named {name}"
    day = ds.isoformat()
    fmt = PartitionFormat(spec.partition_format)
    if spec.kind == "hive":
        table = hive_table(settings, spec)
        if not spark.catalog.tableExists(table):
            return False, f"Hive table {table} does not exist"
        col = hive_partition_column(spark, table, spec)
        if col is None:
            return True, f"{table} is not partitioned"
        values = _of_day(hive_partitions(spark, table, col), fmt, ds)
        if fmt.daily:
            return bool(values), f"{table} {col}={fmt.format(ds)} {'present' if values else 'absent'}"
        return bool(values), f"{table} {col}: {len(values)} partitions of {day} ({fmt.pattern})"
    if spec.kind == "parquet" and not spec.date_column and not has_day(spec.path or ""):
        paths, what = _parquet_day_paths(spark, source_path(settings, spec), spec.partition_column or "ds", fmt, ds)
        counted = not fmt.daily
    else:
        what = source_path(settings, spec, ds)
        paths = _existing(spark, what)
        counted = has_glob(what)
    if counted:
        return bool(paths), f"{what}: {len(paths)} paths match"
    return bool(paths), f"{what} {'present' if paths else 'absent'}"


def available_partitions(spark, settings: Settings, spec: SourceSpec) -> list[str]:
    """The days a source has (metadata only); [] when the source itself is missing."""
    if spec.kind == "hive":
        table = hive_table(settings, spec)
        if not spark.catalog.tableExists(table):
            return []
        col = hive_partition_column(spark, table, spec)
        return _days(hive_partitions(spark, table, col), PartitionFormat(spec.partition_format)) if col else []
    return file_partitions(spark, settings, spec)
