"""Where tables and files live, and the atomic, idempotent ways of writing one ds partition."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from pipelines.core.errors import ConfigError, DataError
from pipelines.core.names import check_name, quote_ident, sql_literal
from pipelines.settings import Settings

log = logging.getLogger("ctrflow.tables")


def table(settings: Settings, layer: str, name: str) -> str:
    """Qualified name of a table of a data layer: table(s, 'raw', 'click_logs') -> 'raw.click_logs'.
    `name` must follow the identifier rule (pipelines.core.names); ConfigError otherwise."""
    db = getattr(settings.project.databases, layer)
    try:
        return f"{db}.{check_name(name)}"
    except ValueError as e:
        raise ConfigError(f"a table of {db}: {e}") from None


def ensure_database(spark, qualified: str) -> None:
    db = qualified.split(".")[0]
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {quote_ident(db)}")


def table_exists(spark, qualified: str) -> bool:
    return spark.catalog.tableExists(qualified)


def partition_available(spark, qualified: str, ds: dt.date) -> tuple[bool, str]:
    """(available, detail): whether a table (Delta or metastore) has rows for `ds` (a sensor's question;
    a Delta table answers from its log's partition values, nothing else is read)."""
    if not table_exists(spark, qualified):
        return False, f"{qualified} does not exist"
    day = ds.isoformat()
    present = bool(spark.sql(f"SELECT 1 FROM {qualified} WHERE ds = {sql_literal(day)} LIMIT 1").take(1))
    return present, f"{qualified} ds={day} {'present' if present else 'absent'}"


def delta_version(spark, table_or_path: str) -> int | None:
    """The current Delta version of a table (db.table) or of a Delta directory (a path); None when it is not
    Delta (a Parquet or Hive table: nothing to pin)."""
    from delta.tables import DeltaTable

    try:
        t = (
            DeltaTable.forPath(spark, table_or_path)
            if "/" in table_or_path
            else DeltaTable.forName(spark, table_or_path)
        )
        return int(t.history(1).first()["version"])
    except Exception:  # not a Delta table
        return None


@dataclass(frozen=True)
class DeltaWrite:
    """What a Delta write committed: the table version and the rows it wrote (from the commit)."""

    version: int
    rows: int


def write_delta_partition(
    df,
    qualified: str,
    ds: dt.date,
    partition_col: str = "ds",
    properties: dict[str, str] | None = None,
    subpartition: dict[str, str] | None = None,
) -> DeltaWrite:
    """Replace exactly the ds partition of a Delta table in one commit (created on first write).

    `subpartition` ({"model": "gbdt_lr"}) narrows it: the table is also partitioned by those columns and
    only the rows of (ds, model=gbdt_lr) are replaced, so writers of other values never collide.

    A Delta commit is atomic: readers see the old partition or the new one, never half, and a job
    killed before its commit leaves the previous version. `properties` (e.g.
    {"delta.dataSkippingNumIndexedCols": "-1"}) are set when the write creates the table.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    spark = df.sparkSession
    ensure_database(spark, qualified)
    day = ds.isoformat()
    sub = subpartition or {}
    out = df.withColumn(partition_col, F.lit(day))
    for col, value in sub.items():
        out = out.withColumn(col, F.lit(value))
    where = " AND ".join(f"{quote_ident(c)} = {sql_literal(v)}" for c, v in {partition_col: day, **sub}.items())
    if not table_exists(spark, qualified):
        create_delta_table(out, qualified, [partition_col, *sub], properties)
    out.write.format("delta").option("replaceWhere", where).mode("overwrite").saveAsTable(qualified)
    last = DeltaTable.forName(spark, qualified).history(1).select("version", "operationMetrics").first()
    return DeltaWrite(int(last["version"]), int((last["operationMetrics"] or {}).get("numOutputRows", 0)))


def create_delta_table(df, qualified: str, partition_cols: list[str], properties: dict[str, str] | None) -> None:
    """Create an empty Delta table with df's schema, partitioned by `partition_cols`, unless another writer
    has just created it. Two first writers of one table (the GBDT+LR and DeepFM score tasks of a run, in
    parallel on a cluster) would otherwise both create it with their rows, and one fails with Delta's
    ProtocolChangedException; after this, each replaces its own partitions of the one table."""
    writer = df.limit(0).write.format("delta").partitionBy(*partition_cols)
    for key, value in (properties or {}).items():
        writer = writer.option(key, value)
    try:
        writer.mode("errorifexists").saveAsTable(qualified)
    except Exception:
        if not table_exists(df.sparkSession, qualified):
            raise
        log.info("%s was created by a concurrent writer; writing into it", qualified)


# Where overwrite_hive_partition stages each version of a partition, under the table's location: a
# name Spark and Hive skip when they list the table's directory ('_' prefix), one directory per day.
HIVE_PARTS_DIR = "_ctrflow_parts"


def overwrite_hive_partition(df, qualified: str, ds: dt.date, ddl: str, fmt: str = "parquet") -> None:
    """Replace one `ds` partition of a metastore (non-Delta) table atomically; the table is created on
    first write.

    The rows are written to a new directory <table location>/_ctrflow_parts/<ds>/<uuid>; only once every
    file is there does one metastore call point the partition at it (ALTER TABLE .. SET LOCATION, or
    ADD PARTITION for a new day). Readers see the old partition or the new one, never half: a job killed
    while writing leaves the previous partition as it was (INSERT OVERWRITE would have dropped it first).
    The directories the partition no longer points at (an earlier version, a killed run's files) are
    deleted after the switch, and again by the next write of that day.
    """
    spark = df.sparkSession
    ensure_database(spark, qualified)
    table_sql = quote_ident(qualified)
    spark.sql(f"CREATE TABLE IF NOT EXISTS {table_sql} ({ddl}, ds string) USING {check_name(fmt)} PARTITIONED BY (ds)")
    day = ds.isoformat()
    spec = f"PARTITION (ds = {sql_literal(day)})"
    columns = [f for f in spark.table(qualified).schema.fields if f.name != "ds"]
    missing = sorted({c.name for c in columns} - set(df.columns))
    if missing:
        raise DataError(f"{qualified} ds={day}: the rows lack column(s) {', '.join(missing)}")
    root = _location(spark, qualified)
    days_dir = f"{root}/{HIVE_PARTS_DIR}/{day}"
    version = uuid.uuid4().hex
    staged = f"{days_dir}/{version}"
    rows = df.select(*[df[c.name].cast(c.dataType).alias(c.name) for c in columns])
    rows.write.mode("errorifexists").format(fmt).save(staged)
    old = _location(spark, qualified, day) if spark.sql(f"SHOW PARTITIONS {table_sql} {spec}").first() else None
    if old is None:
        spark.sql(f"ALTER TABLE {table_sql} ADD {spec} LOCATION {sql_literal(staged)}")
    else:
        spark.sql(f"ALTER TABLE {table_sql} {spec} SET LOCATION {sql_literal(staged)}")
    spark.sql(f"REFRESH TABLE {table_sql}")
    # what the partition no longer points at: the previous version, and files of killed runs of this day
    fs, parts = hadoop_fs(spark, days_dir)
    stale = [st.getPath().toString() for st in fs.listStatus(parts) if st.getPath().getName() != version]
    if old is not None and old.startswith(f"{root}/") and HIVE_PARTS_DIR not in old:
        stale.append(old)  # the day's directory of a table written by INSERT OVERWRITE (before staging)
    for path in stale:
        log.info("%s ds=%s: removing %s (no longer the partition's location)", qualified, day, path)
        delete_path(spark, path)


def table_detail(spark, qualified: str, day: str | None = None) -> dict[str, str]:
    """DESCRIBE TABLE EXTENDED of a metastore table (or of one of its ds partitions) as {name: value}:
    Provider, Location, Type, ... (a few dozen rows of metadata; the last of a repeated name wins)."""
    spec = f" PARTITION (ds = {sql_literal(day)})" if day else ""
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {quote_ident(qualified)}{spec}").collect()
    return {r.col_name: r.data_type for r in rows}


def _location(spark, qualified: str, day: str | None = None) -> str:
    """The location of a metastore table, or of one of its ds partitions."""
    location = table_detail(spark, qualified, day).get("Location")
    if not location:
        raise DataError(f"{qualified}{f' ds={day}' if day else ''}: the metastore gives no location")
    return location


def hadoop_fs(spark, path: str):
    """(the Hadoop FileSystem of `path`, its Hadoop Path)."""
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p


def replace_dir(spark, staged: str, final: str) -> None:
    """Move a fully written directory into place, replacing the old one (Hadoop FileSystem rename)."""
    fs, src = hadoop_fs(spark, staged)
    _, dst = hadoop_fs(spark, final)
    old = None
    if fs.exists(dst):
        old = dst.suffix(f".old-{uuid.uuid4().hex[:8]}")
        fs.rename(dst, old)
    fs.mkdirs(dst.getParent())
    if not fs.rename(src, dst):
        if old is not None:
            fs.rename(old, dst)
        raise DataError(f"could not move {staged} to {final}")
    if old is not None:
        fs.delete(old, True)


def delete_path(spark, path: str) -> None:
    """Delete a file or directory tree if it exists (Hadoop FileSystem)."""
    fs, p = hadoop_fs(spark, path)
    fs.delete(p, True)


def path_exists(spark, path: str) -> bool:
    fs, p = hadoop_fs(spark, path)
    return bool(fs.exists(p))


def align_to_table(spark, df, table: str, who: str, partitions: tuple[str, ...] = ("ds", "model")):
    """df with the columns of `table` (null where df lacks one, in the table's order); columns the table
    lacks are added to it first (one table for many writers, e.g. out.scores' models). A column both have
    with different types is an error naming both. `partitions` are the columns the write adds."""
    from pyspark.sql import functions as F

    if not table_exists(spark, table):
        return df
    have = {f.name: f.dataType for f in spark.table(table).schema.fields if f.name not in partitions}
    mine = {f.name: f.dataType for f in df.schema.fields}
    clash = [
        f"'{c}' is {have[c].simpleString()} there, {t.simpleString()} in {who}"
        for c, t in mine.items()
        if c in have and have[c] != t
    ]
    if clash:
        raise DataError(
            f"cannot write {who} into {table}: column {'; '.join(clash)} "
            f"(rename the column in the source, or write into another table)"
        )
    try:
        new = [f"{quote_ident(c)} {t.simpleString()}" for c, t in mine.items() if c not in have]
    except ValueError as e:
        raise DataError(f"cannot add a column of {who} to {table}: {e}") from None
    if new:
        spark.sql(f"ALTER TABLE {quote_ident(table)} ADD COLUMNS ({', '.join(new)})")
        have.update({c: t for c, t in mine.items() if c not in have})
    return df.select(*[F.col(f"`{c}`") if c in mine else F.lit(None).cast(t).alias(c) for c, t in have.items()])


def read_day(spark, qualified: str, ds: dt.date, purpose: str, hint: str = "", **subpartition: str):
    """The rows of one ds partition (narrowed to `subpartition` values, e.g. index='recs_items'), without
    the partition columns. A missing table or an empty day is a DataError naming the table, the day and
    the `purpose` ("to score with gbdt_lr v0003"); `hint` says which job writes it."""
    from pyspark.sql import functions as F

    if not table_exists(spark, qualified):
        raise DataError(f"table {qualified} {purpose} does not exist{hint}")
    rows = spark.table(qualified).where(F.col("ds") == ds.isoformat())
    for col, value in subpartition.items():
        rows = rows.where(F.col(quote_ident(col)) == value)
    if rows.limit(1).count() == 0:
        which = "".join(f" {c}={v}" for c, v in subpartition.items())
        raise DataError(f"{qualified} has no rows for ds {ds}{which} {purpose}{hint}")
    return rows.drop("ds", *subpartition)
