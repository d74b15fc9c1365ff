"""StagedPartition: a ds partition's Delta files written first, committed (or discarded) after: the Delta
transaction calls ingest relies on, against the pinned Delta release."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from pipelines.common import tables
from pipelines.common.staged_delta import StagedPartition
from pipelines.core.errors import DataError

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def _df(spark, n: int, v: int):
    from pyspark.sql import functions as F

    return spark.range(n).repartition(3).withColumn("v", F.lit(v))


def _rows(spark, name, ds) -> list[tuple[int, int]]:
    return sorted((r.id, r.v) for r in spark.table(name).where(f"ds = '{ds}'").collect())


def _parquet_files(spark, name, ds) -> set[str]:
    part = spark.sql(f"DESCRIBE DETAIL {name}").first()["location"].removeprefix("file:") + f"/ds={ds}"
    return {f for f in os.listdir(part) if f.endswith(".parquet")} if os.path.isdir(part) else set()


def test_write_then_commit_replaces_only_its_partition(spark):
    from delta.tables import DeltaTable

    name = "stg.staged_commit"
    tables.write_delta_partition(_df(spark, 5, 1), name, D1)
    tables.write_delta_partition(_df(spark, 3, 1), name, D2)
    staged = StagedPartition(spark, name, D1)
    staged.write(_df(spark, 7, 2))
    assert staged.rows == 7 and sum(s["numRecords"] for s in staged.file_stats) == 7
    assert _rows(spark, name, D1) == [(i, 1) for i in range(5)]  # written, not committed: readers see the old rows
    done = staged.commit()
    assert _rows(spark, name, D1) == [(i, 2) for i in range(7)]
    assert _rows(spark, name, D2) == [(i, 1) for i in range(3)]
    last = DeltaTable.forName(spark, name).history(1).first()
    assert (done.version, done.rows) == (last["version"], 7)
    assert last["operation"] == "WRITE" and last["operationParameters"]["predicate"] == "`ds` = '2026-11-01'"
    assert last["operationMetrics"]["numOutputRows"] == "7"
    staged.discard()  # after a commit: nothing to delete
    assert _rows(spark, name, D1) == [(i, 2) for i in range(7)]


def test_discard_deletes_the_written_files_and_a_table_it_created(spark):
    name = "stg.staged_discard"
    staged = StagedPartition(spark, name, D1, properties={"delta.dataSkippingNumIndexedCols": "-1"})
    staged.write(_df(spark, 4, 1))
    assert len(_parquet_files(spark, name, D1)) > 0 and spark.table(name).count() == 0  # created empty
    props = spark.sql(f"SHOW TBLPROPERTIES {name}").collect()
    assert {r.key: r.value for r in props}["delta.dataSkippingNumIndexedCols"] == "-1"
    staged.discard()
    assert not tables.table_exists(spark, name)  # a discarded first write leaves no table
    tables.write_delta_partition(_df(spark, 2, 1), name, D1)
    staged = StagedPartition(spark, name, D1)
    staged.write(_df(spark, 4, 2))
    staged.discard()
    assert _rows(spark, name, D1) == [(0, 1), (1, 1)]
    assert len(_parquet_files(spark, name, D1)) == len(spark.table(name).inputFiles())


def test_a_commit_after_another_writer_replaced_the_partition_fails(spark):
    name = "stg.staged_conflict"
    tables.write_delta_partition(_df(spark, 2, 1), name, D1)
    staged = StagedPartition(spark, name, D1)
    staged.write(_df(spark, 3, 2))
    tables.write_delta_partition(_df(spark, 4, 3), name, D1)  # a concurrent run of the same day commits first
    with pytest.raises(Exception, match="Concurrent|concurrent"):
        staged.commit()
    staged.discard()
    assert _rows(spark, name, D1) == [(i, 3) for i in range(4)]


def test_rows_of_another_shape_are_refused_before_writing(spark):
    from pyspark.sql import functions as F

    name = "stg.staged_shape"
    tables.write_delta_partition(_df(spark, 2, 1), name, D1)
    with pytest.raises(DataError, match=r"stg.staged_shape: the rows to write have columns id bigint, v string"):
        StagedPartition(spark, name, D1).write(_df(spark, 2, 1).withColumn("v", F.col("v").cast("string")))
