"""One ds partition of a Delta table written now and committed later: the data files first, the commit
once the caller has decided (or the files discarded).

Spark's DataFrameWriter writes a Delta table's files and commits them in one call. Ingest has to see
what the pass that wrote the rows observed (the bad-row share decides whether the day is staged at
all) before anything is published, without writing the day twice. So it uses Delta's own transaction,
the way Delta's writers do: `OptimisticTransaction.writeFiles` writes the data files into the table's
directory with their statistics and commits nothing; `commit()` then removes the partition's old files
and adds the new ones in one atomic commit (a replaceWhere write in the table's history, with its
numOutputRows), under Delta's conflict detection against concurrent writers; `discard()` deletes the
files written. A killed run's files were never committed, so no reader ever sees them; the table's
VACUUM removes them like any other file no version references.

This is Delta's Scala API, not its Python one (pinned delta-spark 4.4.0, `STACK.md`):
tests/integration/test_staged_delta.py exercises every call, so an upgrade that changes it fails there.
"""

from __future__ import annotations

import datetime as dt
import json

from pipelines.common import tables
from pipelines.common.tables import DeltaWrite, create_delta_table, ensure_database, hadoop_fs, table_exists
from pipelines.core.errors import DataError
from pipelines.core.names import quote_ident, sql_literal


def _seq(jvm, items):
    """A Scala immutable Seq of JVM objects."""
    lst = jvm.java.util.ArrayList()
    for item in items:
        lst.add(item)
    return jvm.scala.jdk.javaapi.CollectionConverters.asScala(lst).toSeq()


def _items(seq) -> list:
    return [seq.apply(i) for i in range(seq.size())]


class StagedPartition:
    """The files of one ds partition of `qualified`, written by `write(df)` (df: the table's columns but
    the partition column), committed by `commit()` in place of the partition's current rows, or deleted by
    `discard()`. The table is created, empty, when missing (`properties` then apply)."""

    def __init__(self, spark, qualified: str, ds: dt.date, partition_col: str = "ds", properties=None):
        self.spark, self.qualified, self.partition_col = spark, qualified, partition_col
        self.day = ds.isoformat()
        self.properties = properties
        self._added: list = []
        self.file_stats: list[dict] = []  # per written file: numRecords, nullCount, minValues, maxValues
        self._location: str | None = None
        self._txn = None
        self._created = False
        self.committed: DeltaWrite | None = None

    @property
    def where(self) -> str:
        return f"{quote_ident(self.partition_col)} = {sql_literal(self.day)}"

    def write(self, df) -> None:
        """Write df's rows as the partition's new files (nothing is committed)."""
        from pyspark.sql import functions as F

        spark = self.spark
        out = df.withColumn(self.partition_col, F.lit(self.day))
        ensure_database(spark, self.qualified)
        if not table_exists(spark, self.qualified):
            # from the schema alone: running df's plan (even as limit(0)) would fire its observations
            empty = spark.createDataFrame([], out.schema)
            create_delta_table(empty, self.qualified, [self.partition_col], self.properties)
            self._created = True
        have = [(f.name, f.dataType.simpleString()) for f in spark.table(self.qualified).schema.fields]
        want = [(f.name, f.dataType.simpleString()) for f in out.schema.fields]
        if have != want:
            raise DataError(
                f"{self.qualified}: the rows to write have columns {_columns(want)}, the table has "
                f"{_columns(have)}; a changed contract needs a new table (or an ALTER TABLE) first"
            )
        jvm = spark.sparkContext._jvm
        location = spark.sql(f"DESCRIBE DETAIL {quote_ident(self.qualified)}").first()["location"]
        log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, location)
        self._txn = log.startTransaction()
        self._location = location
        self._added = _items(self._txn.writeFiles(out.select(*[n for n, _ in have])._jdf))
        self.file_stats = [json.loads(a.stats()) for a in self._added if a.stats()]

    @property
    def rows(self) -> int:
        return sum(s.get("numRecords", 0) for s in self.file_stats)

    def commit(self) -> DeltaWrite:
        """Replace the partition's rows with the written files in one Delta commit."""
        if self._txn is None:
            raise RuntimeError("StagedPartition.commit before write")
        jvm = self.spark.sparkContext._jvm
        parser = self.spark._jsparkSession.sessionState().sqlParser()
        old = _items(self._txn.filterFiles(_seq(jvm, [parser.parseExpression(self.where)]), False))
        some, none = jvm.scala.Option.apply, jvm.scala.Option.empty()
        op = jvm.org.apache.spark.sql.delta.DeltaOperations.Write(
            jvm.org.apache.spark.sql.SaveMode.Overwrite,
            some(_seq(jvm, [self.partition_col])),
            some(self.where),
            *[none] * 6,
        )
        version = int(self._txn.commit(_seq(jvm, [*self._added, *[f.remove() for f in old]]), op))
        self.committed = DeltaWrite(version, self.rows)
        self._txn = None
        return self.committed

    def discard(self) -> None:
        """Delete the files written and not committed (nothing to do after a commit), and the table when
        this write created it and nothing has been committed to it since: a first write that is discarded
        leaves no table behind."""
        if self.committed is not None:
            return
        if self._created and tables.delta_version(self.spark, self.qualified) == 0:
            self.spark.sql(f"DROP TABLE IF EXISTS {quote_ident(self.qualified)}")
            self._added, self.file_stats, self._txn, self._created = [], [], None, False
        if not self._added:
            return
        fs, _ = hadoop_fs(self.spark, self._location)
        jvm = self.spark.sparkContext._jvm
        root = jvm.org.apache.hadoop.fs.Path(self._location)
        for a in self._added:  # paths in the log are URIs relative to the table's root
            fs.delete(
                jvm.org.apache.hadoop.fs.Path(root, jvm.org.apache.hadoop.fs.Path(jvm.java.net.URI(a.path()))), False
            )
        self._added, self._txn = [], None


def _columns(fields) -> str:
    return ", ".join(f"{n} {t}" for n, t in fields)
