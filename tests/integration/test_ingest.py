"""The ingest job on tiny sources made here: every source kind, every bad-input class, counts that add
up, idempotent reruns, atomic writes, schema drift, the catalog and the availability check."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from jobs.harness import run_job
from pipelines.common import schema, tables
from pipelines.core.errors import DataError
from pipelines.ingest.catalog import last_ingests
from pipelines.ingest.load import ingest_day
from pipelines.ingest.sources import partition_available
from pipelines.settings.sources import SourcesSettings
from tests.integration.ingest_sources import CONTRACT, DAY, csv_spec


def _settings(settings, **sources):
    srcs = schema.build(SourcesSettings, {"sources": sources, "contracts": {"t": CONTRACT}})
    return dataclasses.replace(settings, sources=srcs)


def _rows(spark, table, day=DAY):
    rows = [tuple(r) for r in spark.table(table).where(f"ds = '{day}'").drop("ds").collect()]
    return sorted(rows, key=lambda row: [(v is not None, v) for v in row])


@pytest.fixture
def csv_source(settings, tmp_path):
    def make(name, lines, day=DAY, **extra):
        spec = csv_spec(tmp_path, name, lines, day, **{"delimiter": ",", "max_bad_fraction": 0.5, **extra})
        return _settings(settings, **{name: spec})

    return make


def test_text_source_bad_rows_go_to_quarantine_with_reasons(spark, csv_source):
    s = csv_source(
        "csv_mixed",
        max_bad_fraction=0.9,
        lines=[
            "1,5,abc",
            "0,,xyz",
            "0,3,",  # good (empty fields are missing values)
            "1,5",
            "0,1,a,extra",  # wrong number of fields
            "0,many,abc",  # unparsable number
            "3,1,abc",
            "1,-4,abc",  # out of range
            ",2,abc",  # missing required field
            "1,2,ABC",  # pattern
        ],
    )
    res = ingest_day(spark, s, "csv_mixed", DAY)
    assert (res["input_rows"], res["staged_rows"], res["quarantined_rows"]) == (10, 3, 7)
    assert _rows(spark, "stg.csv_mixed") == [(0, None, "xyz"), (0, 3, None), (1, 5, "abc")]
    assert spark.table("stg.csv_mixed").columns == ["label", "count", "cat", "ds"]  # normalised names
    q = {r.raw: r.reason for r in spark.table("stg.csv_mixed_quarantine").collect()}
    assert q == {
        "1,5": "expected 3 fields, found 2",
        "0,1,a,extra": "expected 3 fields, found 4",
        "0,many,abc": "Count: not a valid int: 'many'",
        "3,1,abc": "Label: 3 > max 1",
        "1,-4,abc": "Count: -4 < min 0",
        ",2,abc": "Label: missing required value",
        "1,2,ABC": "Cat: 'ABC' does not match [a-z]+",
    }
    assert {"reason": "wrong number of fields", "rows": 2} in res["top_reasons"]
    entry = last_ingests(spark, s, "csv_mixed")[0]
    assert (entry["input_rows"], entry["staged_rows"], entry["quarantined_rows"]) == (10, 3, 7)
    assert entry["stg_version"] == res["stg_version"]
    assert entry["column_stats"]["count"] == {"null_rate": pytest.approx(1 / 3), "distinct": 2, "min": "3", "max": "5"}
    assert len(entry["sample"]) == 3


def test_too_many_bad_rows_fail_naming_source_day_and_reasons(spark, csv_source):
    s = csv_source("csv_bad", ["1,1,a", "x,1,a", "y,1,a", "1,1"], max_bad_fraction=0.25)
    with pytest.raises(DataError) as e:
        ingest_day(spark, s, "csv_bad", DAY)
    msg = str(e.value)
    assert "source csv_bad ds=2026-11-01: 3 of 4 rows (75.00%)" in msg
    assert "Label: not a valid int (2 rows)" in msg and "wrong number of fields (1 rows)" in msg
    assert spark.table("stg.csv_bad_quarantine").count() == 3  # nothing lost
    assert not spark.catalog.tableExists("stg.csv_bad")  # nothing half-published


def test_criteo_tsv_and_hive_sources_of_the_generator(spark, settings, overrides):
    day = "2026-11-05"
    sets = [x for o in overrides for x in ("--set", o)]
    assert run_job("generate", ["--ds", day, "--tsv", *sets], spark=spark) == 0
    n = settings.synth.rows_per_day
    for source in ("criteo_tsv", "click_logs"):
        assert run_job("ingest", ["--ds", day, "--source", source, *sets], spark=spark) == 0
        stg = spark.table(f"stg.{source}").where(f"ds = '{day}'")
        assert stg.count() == n
        assert stg.columns[:3] == ["label", "i1", "i2"] and stg.columns[-2:] == ["c26", "ds"]
    # both paths stage the same rows: empty TSV fields are nulls, like the Hive table's nulls
    a = spark.table("stg.criteo_tsv").where(f"ds = '{day}'")
    b = spark.table("stg.click_logs").where(f"ds = '{day}'")
    assert a.exceptAll(b).count() == 0 and b.exceptAll(a).count() == 0
    assert a.where("i1 IS NULL").count() > 0


def test_parquet_sources_by_directory_and_by_date_column(spark, settings, tmp_path):
    df = spark.createDataFrame([(1, 2, "ab"), (0, 3, "cd")], "Label int, Count int, Cat string")
    df.write.parquet(str(tmp_path / "pq" / f"ds={DAY}"))
    from pyspark.sql import functions as F

    (
        df.withColumn("event_date", F.lit(DAY).cast("date"))
        .unionByName(df.withColumn("event_date", F.lit(DAY + dt.timedelta(days=1)).cast("date")))
        .write.parquet(str(tmp_path / "pq_dated"))
    )
    s = _settings(
        settings,
        pq_dirs={"kind": "parquet", "path": str(tmp_path / "pq"), "contract": "t"},
        pq_dated={
            "kind": "parquet",
            "path": str(tmp_path / "pq_dated"),
            "date_column": "event_date",
            "contract": "t",
            "max_bad_fraction": 0.0,
        },
    )
    assert ingest_day(spark, s, "pq_dirs", DAY)["staged_rows"] == 2
    with pytest.raises(DataError, match="schema drift: column\\(s\\) event_date are in the source but not"):
        ingest_day(spark, s, "pq_dated", DAY)
    contract = dataclasses.replace(s.sources.contracts["t"], allow_new_columns=True)
    tolerant = dataclasses.replace(s, sources=dataclasses.replace(s.sources, contracts={"t": contract}))
    assert ingest_day(spark, tolerant, "pq_dated", DAY)["staged_rows"] == 2
    assert partition_available(spark, s, "pq_dirs", DAY)[0]
    assert not partition_available(spark, s, "pq_dirs", DAY + dt.timedelta(days=3))[0]


def test_schema_drift_removed_and_retyped_columns(spark, settings, tmp_path):
    spark.createDataFrame([(1, "2", "ab")], "Label int, Count string, Cat string").write.parquet(
        str(tmp_path / "retyped" / f"ds={DAY}")
    )
    spark.createDataFrame([(1, "ab")], "Label int, Cat string").write.parquet(str(tmp_path / "removed" / f"ds={DAY}"))
    s = _settings(
        settings,
        retyped={"kind": "parquet", "path": str(tmp_path / "retyped"), "contract": "t"},
        removed={"kind": "parquet", "path": str(tmp_path / "removed"), "contract": "t"},
    )
    with pytest.raises(DataError, match="column Count is string in the source, int in the contract"):
        ingest_day(spark, s, "retyped", DAY)
    with pytest.raises(DataError, match=r"column Count \(int\) is in the contract but not in the source"):
        ingest_day(spark, s, "removed", DAY)


def test_missing_source_partition_and_empty_partition(spark, settings, csv_source, tmp_path):
    s = csv_source("csv_empty", [])
    with pytest.raises(DataError, match=r"source csv_empty ds=2026-11-01: the partition is empty \(.*csv_empty"):
        ingest_day(spark, s, "csv_empty", DAY)
    with pytest.raises(DataError, match=r"source csv_empty: no files at .*ds=2026-11-02"):
        ingest_day(spark, s, "csv_empty", DAY + dt.timedelta(days=1))
    s = _settings(settings, gone={"kind": "hive", "table": "raw.no_such_table", "contract": "t"})
    with pytest.raises(DataError, match="source gone: Hive table raw.no_such_table does not exist"):
        ingest_day(spark, s, "gone", DAY)
    assert partition_available(spark, s, "gone", DAY) == (False, "Hive table raw.no_such_table does not exist")
    df = spark.createDataFrame([(1, 1, "a", "2026-10-30")], "Label int, Count int, Cat string, ds string")
    df.write.mode("overwrite").partitionBy("ds").format("parquet").saveAsTable("raw.tiny_hive")
    s = _settings(settings, tiny={"kind": "hive", "table": "raw.tiny_hive", "contract": "t"})
    with pytest.raises(DataError, match=r"no partition ds=2026-11-01 in raw.tiny_hive \(latest: 2026-10-30\)"):
        ingest_day(spark, s, "tiny", DAY)
    assert partition_available(spark, s, "tiny", dt.date(2026, 10, 30))[0]


def test_rerun_is_idempotent_and_leaves_other_days(spark, csv_source):
    s = csv_source("csv_rerun", ["1,1,a", "0,2,b", "bad"])
    other = DAY + dt.timedelta(days=1)
    other_dir = Path(s.sources.sources["csv_rerun"].path.replace("{ds}", other.isoformat()))
    other_dir.mkdir(parents=True)
    (other_dir / "p.csv").write_text("Label,Count,Cat\n1,9,z\n")
    ingest_day(spark, s, "csv_rerun", other)
    first = ingest_day(spark, s, "csv_rerun", DAY)
    rows, quarantined = _rows(spark, "stg.csv_rerun"), _rows(spark, "stg.csv_rerun_quarantine")
    again = ingest_day(spark, s, "csv_rerun", DAY)
    assert again["stg_version"] > first["stg_version"]
    assert _rows(spark, "stg.csv_rerun") == rows and len(rows) == 2
    assert [r[:2] for r in _rows(spark, "stg.csv_rerun_quarantine")] == [r[:2] for r in quarantined]
    assert _rows(spark, "stg.csv_rerun", other) == [(1, 9, "z")]
    assert len(last_ingests(spark, s, "csv_rerun")) == 3


def test_an_interrupted_write_leaves_the_previous_partition(spark, settings):
    from pyspark.sql import functions as F

    name = tables.table(settings, "stg", "interrupted")
    df = spark.range(1000).repartition(4).withColumn("v", F.col("id") * 2)
    tables.write_delta_partition(df, name, DAY)
    # the second write fails in one task after the others have written their files
    failing = df.withColumn("v", F.when(F.col("id") == 999, F.raise_error(F.lit("killed"))).otherwise(F.col("v")))
    with pytest.raises(Exception, match="killed"):
        tables.write_delta_partition(failing.withColumn("v", F.col("v") + 1), name, DAY)
    assert spark.table(name).agg(F.sum("v")).first()[0] == 2 * sum(range(1000))


def test_job_exit_codes_and_one_line_errors(spark, overrides, capsys):
    sets = [x for o in overrides for x in ("--set", o)]
    assert run_job("ingest", ["--ds", "2026-11-01", "--source", "nope", *sets], spark=spark) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err
    assert run_job("ingest", ["--ds", "2031-01-01", "--source", "click_logs", *sets], spark=spark) == 1
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "no partition ds=2031-01-01 in raw.click_logs" in errors[0]
    assert run_job("ingest", ["--ds", "2031-01-01", *sets], spark=spark) == 2
    assert "required: --source" in capsys.readouterr().err


def test_catalog_entries_are_json_readable(spark, settings):
    rows = spark.table("stg.ingest_catalog").select("status", "top_reasons", "column_stats", "sample").collect()
    assert rows and all(isinstance(json.loads(r.top_reasons), list) and json.loads(r.sample) is not None for r in rows)
    # a rejected run (test_too_many_bad_rows...) staged nothing: it has no statistics
    assert {r.status for r in rows} <= {"staged", "rejected"}
    assert all(json.loads(r.column_stats) for r in rows if r.status == "staged")


def test_ctrflow_sources_lists_declared_sources_days_and_last_ingests(spark, overrides, capsys):
    from jobs import cli

    sets = [x for o in overrides for x in ("--set", o)]
    assert run_job("generate", ["--ds", "2026-11-06", "--no-tsv", *sets], spark=spark) == 0
    assert run_job("ingest", ["--ds", "2026-11-06", "--source", "click_logs", *sets], spark=spark) == 0
    capsys.readouterr()
    assert cli.main(["sources", *sets]) == 0
    out = capsys.readouterr().out
    block = out[out.index("click_logs  [hive] raw.click_logs") :].split("\n")
    assert block[2].startswith("    partitions: ") and "2026-11-06" in block[2]
    assert "ingested ds=2026-11-06" in block[3] and "-> stg.click_logs v" in block[3]
    assert "criteo_tsv  [text]" in out


def test_table_partition_available_for_the_features_sensor(spark, settings):
    from pipelines.common.tables import partition_available as table_partition

    assert table_partition(spark, "feat.no_such_table", DAY) == (False, "feat.no_such_table does not exist")
    spark.sql("CREATE DATABASE IF NOT EXISTS raw")
    df = spark.createDataFrame([(1, DAY.isoformat())], "x int, ds string")
    df.write.mode("overwrite").partitionBy("ds").format("delta").saveAsTable("raw.tiny_delta_days")
    assert table_partition(spark, "raw.tiny_delta_days", DAY) == (True, f"raw.tiny_delta_days ds={DAY} present")
    later = DAY + dt.timedelta(days=1)
    assert table_partition(spark, "raw.tiny_delta_days", later) == (False, f"raw.tiny_delta_days ds={later} absent")
