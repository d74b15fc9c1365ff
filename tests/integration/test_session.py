"""The local profile's session: Hive catalog on Derby, Delta tables, Arrow, databases on demand."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from pipelines.common import tables
from pipelines.common.spark import session_conf


def test_session_has_hive_catalog_delta_and_arrow(spark, settings, state_dir):
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.sql.catalogImplementation") == "hive"
    assert "DeltaSparkSessionExtension" in conf.get("spark.sql.extensions")
    assert spark.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert str(state_dir) in spark.conf.get("spark.sql.warehouse.dir")
    assert f"databaseName={state_dir}/metastore_db" in conf.get("spark.hadoop.javax.jdo.option.ConnectionURL")
    # the metastore's ERROR "Failed to alter table" stack traces on each successful Delta rewrite are silenced
    jvm = spark.sparkContext._jvm
    handler = jvm.org.apache.logging.log4j.LogManager.getLogger("org.apache.hadoop.hive.metastore.HiveAlterHandler")
    assert str(handler.getLevel()) == "OFF"


def test_a_crashed_python_worker_reports_its_python_stack(spark):
    """A Python worker that dies (a segfault in xgboost, torch or faiss inside mapInArrow) names where it
    died in the task's error, not only "Python worker exited unexpectedly (crashed)"."""

    def crash_in_native_code(batches):
        import faulthandler

        for batch in batches:
            faulthandler._sigsegv()  # what a native library's segfault does to the worker
            yield batch

    with pytest.raises(Exception) as e:
        spark.range(4, numPartitions=1).mapInArrow(crash_in_native_code, "id long").collect()
    assert "Segmentation fault" in str(e.value) and "crash_in_native_code" in str(e.value)


def test_hive_table_round_trip(spark, settings):
    name = tables.table(settings, "raw", "roundtrip_hive")
    df = spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string")
    tables.overwrite_hive_partition(df, name, dt.date(2026, 11, 1), "id int, v string")
    tables.overwrite_hive_partition(df.limit(1), name, dt.date(2026, 11, 2), "id int, v string")
    # the metastore knows the table and its partitions
    assert name.split(".")[1] in [t.name for t in spark.catalog.listTables("raw")]
    parts = {r[0] for r in spark.sql(f"SHOW PARTITIONS {name}").collect()}
    assert parts == {"ds=2026-11-01", "ds=2026-11-02"}
    # overwriting a day replaces that day only
    tables.overwrite_hive_partition(df.where("id = 2"), name, dt.date(2026, 11, 1), "id int, v string")
    got = sorted((r.id, r.ds) for r in spark.table(name).collect())
    assert got == [(1, "2026-11-02"), (2, "2026-11-01")]
    # each write is a new directory the partition is switched to; the versions it left, and the files of a
    # run killed before its switch, are removed by the next write of that day
    location = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").where("col_name = 'Location'").first().data_type
    day_dir = os.path.join(location.removeprefix("file:"), tables.HIVE_PARTS_DIR, "2026-11-01")
    killed = os.path.join(day_dir, "killedrun")
    os.makedirs(killed)
    open(os.path.join(killed, "part-0.parquet"), "w").close()
    tables.overwrite_hive_partition(df, name, dt.date(2026, 11, 1), "id int, v string")
    assert len(os.listdir(day_dir)) == 1 and spark.table(name).where("ds = '2026-11-01'").count() == 2


def test_ctrflow_tables_lists_each_layer_with_format_and_partitions(spark, overrides):
    from pipelines.common import config
    from pipelines.common.describe_tables import describe_tables

    # databases of their own: the shared session's layers hold every earlier test's tables by now
    layers = [f"project.databases.{layer}=listed_{layer}" for layer in ("raw", "stg", "feat", "out")]
    settings = config.load("local", overrides=[*overrides, *layers]).settings
    name = tables.table(settings, "raw", "listed_hive")
    df = spark.createDataFrame([(1, "a")], "id int, v string")
    for day in (1, 2):
        tables.overwrite_hive_partition(df, name, dt.date(2026, 11, day), "id int, v string")
    delta = tables.table(settings, "stg", "listed_delta")
    tables.write_delta_partition(df, delta, dt.date(2026, 11, 3))
    text = describe_tables(spark, settings)
    lines = {ln.split()[0]: ln for ln in text.splitlines() if ln.startswith("  ")}
    assert "2 partition(s) [2026-11-01 .. 2026-11-02]" in lines[name]
    assert " delta " in lines[delta] and "1 partition(s) [2026-11-03]" in lines[delta]
    assert text.splitlines()[0].startswith("metastore: hive, warehouse ")
    assert "feat (listed_feat): no database yet" in text


def test_delta_table_round_trip_replaces_one_partition(spark, settings):
    from delta.tables import DeltaTable

    name = tables.table(settings, "stg", "roundtrip_delta")
    df = spark.createDataFrame([(i, f"v{i}") for i in range(5)], "id int, v string")
    v0 = tables.write_delta_partition(df, name, dt.date(2026, 11, 1))
    v1 = tables.write_delta_partition(df.limit(2), name, dt.date(2026, 11, 2))
    v2 = tables.write_delta_partition(df.where("id >= 3"), name, dt.date(2026, 11, 1))
    # version 0 creates the (empty) table, then each write is one commit
    assert [(w.version, w.rows) for w in (v0, v1, v2)] == [(1, 5), (2, 2), (3, 2)]
    assert DeltaTable.isDeltaTable(spark, spark.sql(f"DESCRIBE DETAIL {name}").first()["location"])
    counts = {r.ds: r["count"] for r in spark.table(name).groupBy("ds").count().collect()}
    assert counts == {"2026-11-01": 2, "2026-11-02": 2}
    # time travel to the version before the rerun still has the first write
    old = spark.read.format("delta").option("versionAsOf", v1.version).table(name)
    assert old.where("ds = '2026-11-01'").count() == 5


def test_first_writers_racing_to_create_a_delta_table_both_land(spark, settings, monkeypatch):
    # the GBDT+LR and DeepFM score tasks of a run write out.scores at once on a cluster: both see no table;
    # the second one's create fails, and it writes into the table the first created
    name = tables.table(settings, "out", "raced_delta")
    df = spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string")
    tables.write_delta_partition(df, name, dt.date(2026, 11, 1), subpartition={"model": "first"})
    real, calls = tables.table_exists, []

    def stale(spark, q):  # the first look says "no table", as it did for both writers
        calls.append(q)
        return real(spark, q) and len(calls) > 1

    monkeypatch.setattr(tables, "table_exists", stale)
    tables.write_delta_partition(df.limit(1), name, dt.date(2026, 11, 1), subpartition={"model": "second"})
    counts = {r.model: r["count"] for r in spark.table(name).groupBy("model").count().collect()}
    assert counts == {"first": 2, "second": 1} and len(calls) == 2


def test_databases_are_created_on_demand(spark, settings):
    name = tables.table(settings, "out", "on_demand")
    tables.ensure_database(spark, name)
    assert spark.catalog.databaseExists(settings.project.databases.out)


def test_cluster_profile_leaves_master_to_spark_submit(settings):
    conf = session_conf(settings, "cluster")
    assert "spark.master" not in conf
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert "javax.jdo.option.ConnectionURL" not in " ".join(conf)


def test_sql_is_built_from_quoted_names_and_literals_only(spark, settings, monkeypatch):
    from pyspark.sql import SparkSession

    from pipelines.core.errors import ConfigError

    seen: list[str] = []
    real_sql = SparkSession.sql
    monkeypatch.setattr(SparkSession, "sql", lambda self, q, *a, **k: (seen.append(q), real_sql(self, q, *a, **k))[1])
    with pytest.raises(ConfigError, match="is not a valid name"):
        tables.table(settings, "raw", "t (a int) USING parquet LOCATION '/x' --")
    name = tables.table(settings, "raw", "quoted_hive")
    df = spark.createDataFrame([(1, "a")], "id int, v string")
    tables.overwrite_hive_partition(df, name, dt.date(2026, 11, 1), "id int, v string")
    assert seen[0] == "CREATE DATABASE IF NOT EXISTS `raw`"
    assert seen[1] == (
        "CREATE TABLE IF NOT EXISTS `raw`.`quoted_hive` (id int, v string, ds string) USING parquet PARTITIONED BY (ds)"
    )
    assert seen[2] == "DESCRIBE TABLE EXTENDED `raw`.`quoted_hive`"
    assert seen[3] == "SHOW PARTITIONS `raw`.`quoted_hive` PARTITION (ds = '2026-11-01')"
    assert seen[4].startswith("ALTER TABLE `raw`.`quoted_hive` ADD PARTITION (ds = '2026-11-01') LOCATION '")
    assert seen[5] == "REFRESH TABLE `raw`.`quoted_hive`"
    # a sub-partitioned Delta write replaces only its (ds, model) rows: replaceWhere of quoted names and literals
    delta = tables.table(settings, "out", "quoted_delta")
    two = spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string")
    for model, rows in (("m1", two), ("m2", two), ("m1", two.limit(1))):
        tables.write_delta_partition(rows, delta, dt.date(2026, 11, 1), subpartition={"model": model})
    counts = {r.model: r["count"] for r in spark.table(delta).groupBy("model").count().collect()}
    assert counts == {"m1": 1, "m2": 2}
