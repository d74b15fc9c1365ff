"""Real formats as sources, on tiny files made here: quoted CSV with a header in each file, libSVM / libFM
sparse lines, hourly partitions folded into ds (path globs, Hive and Parquet hour values, an hour
column), and the contract error for ids beyond bigint. Bad lines reach the quarantine with a reason and
the raw line, and input = staged + quarantined, as for the TSV source."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest

from pipelines.common import schema, tables
from pipelines.core.errors import DataError
from pipelines.ingest.load import ingest_day
from pipelines.ingest.sources import available_partitions, partition_available
from pipelines.settings.sources import SourcesSettings

DAY = dt.date(2026, 11, 1)
CONTRACTS = {
    "site": {
        "columns": [
            {"name": "click", "type": "int", "nullable": False, "min": 0, "max": 1},
            {"name": "count", "type": "int", "min": 0},
            {"name": "site", "type": "string"},
        ]
    },
    "frappe": {
        "columns": [  # libFM: the label, then one index per categorical field, one value per numeric
            {"name": "label", "type": "int", "nullable": False, "min": 0, "max": 1},
            {"name": "user", "type": "string"},
            {"name": "item", "type": "bigint"},
            {"name": "dwell", "type": "double", "min": 0},
        ]
    },
    "avazu_id": {"columns": [{"name": "id", "type": "bigint"}, {"name": "click", "type": "int"}]},
    "avazu_id_text": {"columns": [{"name": "id", "type": "string"}, {"name": "click", "type": "int"}]},
    "hourly": {"columns": [{"name": "click", "type": "int", "nullable": False}, {"name": "site", "type": "string"}]},
    "hour_column": {"columns": [{"name": "click", "type": "int"}, {"name": "hour", "type": "int"}]},
}


def _settings(settings, **sources):
    srcs = schema.build(SourcesSettings, {"sources": sources, "contracts": CONTRACTS})
    return dataclasses.replace(settings, sources=srcs)


def _write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _rows(spark, table, day=DAY):
    rows = [tuple(r) for r in spark.table(table).where(f"ds = '{day}'").drop("ds").collect()]
    return sorted(rows, key=lambda row: [(v is not None, v) for v in row])


def _quarantine(spark, table, day=DAY):
    return {r.raw: r.reason for r in spark.table(table).where(f"ds = '{day}'").collect()}


def _counts(res):
    return res["input_rows"], res["staged_rows"], res["quarantined_rows"]


def test_quoted_csv_with_a_header_in_each_file(spark, settings, tmp_path):
    day_dir = tmp_path / "csv" / f"ds={DAY}"
    _write(
        day_dir / "part-0.csv",
        "\n".join(
            [
                "click,count,site",
                '1,5,"a,b"',  # a quoted delimiter
                '0,,"say ""hi"""',  # an escaped quote; an empty field is a missing value
                "0,3,plain",
                "click,count,site",  # a data line that happens to equal the header is a (bad) row, not dropped
                "1,2",
                '1,"x,y",z,w',
                '0,"open,2',
                "7,1,abc",
                "x,1,abc",
            ]
        )
        + "\n",
    )
    _write(day_dir / "part-1.csv", '"Click";"Count";"Site"\n1,"9",z\n')  # another header: skipped all the same
    s = _settings(
        settings,
        csv_quoted={
            "kind": "text",
            "format": "csv",
            "header": True,
            "max_bad_fraction": 0.9,
            "path": str(tmp_path / "csv" / "ds={ds}"),
            "contract": "site",
        },
    )
    res = ingest_day(spark, s, "csv_quoted", DAY)
    assert _counts(res) == (10, 4, 6)
    assert _rows(spark, "stg.csv_quoted") == [(0, None, 'say "hi"'), (0, 3, "plain"), (1, 5, "a,b"), (1, 9, "z")]
    assert _quarantine(spark, "stg.csv_quoted_quarantine") == {
        "click,count,site": "click: not a valid int: 'click'; count: not a valid int: 'count'",
        "1,2": "expected 3 fields, found 2",
        '1,"x,y",z,w': "expected 3 fields, found 4",
        '0,"open,2': "unbalanced quotes",
        "7,1,abc": "click: 7 > max 1",
        "x,1,abc": "click: not a valid int: 'x'",
    }
    assert {"reason": "wrong number of fields", "rows": 2} in res["top_reasons"]


def test_delimited_header_skips_the_first_line_of_each_file_whatever_it_says(spark, settings, tmp_path):
    _write(tmp_path / "tsv" / "a.tsv", "CLICK\tSITE\n1\tx\n")
    _write(tmp_path / "tsv" / "b.tsv", "click\tsite\n0\ty\nclick\tsite\n")
    s = _settings(
        settings,
        tsv_header={
            "kind": "text",
            "path": str(tmp_path / "tsv"),
            "delimiter": "\t",
            "header": True,
            "contract": "hourly",
            "max_bad_fraction": 0.5,
        },
    )
    res = ingest_day(spark, s, "tsv_header", DAY)
    assert _counts(res) == (3, 2, 1)
    assert _quarantine(spark, "stg.tsv_header_quarantine") == {"click\tsite": "click: not a valid int: 'click'"}


def test_libsvm_sources_with_labels_minus_one_one_and_zero_one(spark, settings, tmp_path):
    _write(
        tmp_path / "frappe" / f"ds={DAY}" / "train.libfm",
        "\n".join(
            [
                "1 12:1 305:1 7:0.5",
                "-1 13:1 306:1 8:2.25",
                "+1\t12:1  305:1 7:3 ",  # any whitespace; +1 is 1
                "-1 13:1 306:1",  # a pair missing
                "1 12:1 abc 7:1",  # a token without ':'
                "2 12:1 305:1 7:1",  # a label outside {-1, 0, 1}
                "1 u7:1 305:1 7:1",  # a non-numeric index
                "1 12:1 305:1 7:high",  # a non-numeric value
                "0 12:1 305:1 7:-1",  # a value the contract refuses
            ]
        )
        + "\n",
    )
    _write(tmp_path / "crit" / f"ds={DAY}" / "part-0", "0 1:1 2:1 3:1.5\n1 4:1 5:1 6:0\n1 4:1 5:1:1 6:0\n")
    s = _settings(
        settings,
        frappe={
            "kind": "text",
            "format": "libsvm",
            "path": str(tmp_path / "frappe" / "ds={ds}"),
            "contract": "frappe",
            "max_bad_fraction": 0.9,
        },
        crit={
            "kind": "text",
            "format": "libsvm",
            "path": str(tmp_path / "crit" / "ds={ds}"),
            "contract": "frappe",
            "max_bad_fraction": 0.5,
        },
    )
    res = ingest_day(spark, s, "frappe", DAY)
    assert _counts(res) == (9, 3, 6)
    assert _rows(spark, "stg.frappe") == [(0, "13", 306, 2.25), (1, "12", 305, 0.5), (1, "12", 305, 3.0)]
    assert _quarantine(spark, "stg.frappe_quarantine") == {
        "-1 13:1 306:1": "expected 3 idx:val pairs, found 2",
        "1 12:1 abc 7:1": "token 'abc' is not idx:val",
        "2 12:1 305:1 7:1": "label '2' is not -1, 0 or 1",
        "1 u7:1 305:1 7:1": "index of 'u7:1' is not a non-negative integer",
        "1 12:1 305:1 7:high": "value of '7:high' is not a number",
        "0 12:1 305:1 7:-1": "dwell: -1.0 < min 0",
    }
    assert spark.table("stg.frappe").columns == ["label", "user", "item", "dwell", "ds"]
    res = ingest_day(spark, s, "crit", DAY)
    assert _counts(res) == (3, 2, 1)
    assert _rows(spark, "stg.crit") == [(0, "1", 2, 1.5), (1, "4", 5, 0.0)]
    assert _quarantine(spark, "stg.crit_quarantine") == {"1 4:1 5:1:1 6:0": "token '5:1:1' is not idx:val"}


def test_hourly_directories_of_a_file_source_fold_into_one_day(spark, settings, tmp_path):
    root = tmp_path / "avazu"
    for hour in range(24):
        _write(root / f"hour=261101{hour:02d}" / "part-0.csv", f"{hour % 2},s{hour}\n")
    _write(root / "hour=26103123" / "part-0.csv", "1,before\n")
    _write(root / "hour=26110200" / "part-0.csv", "1,after\n")
    _write(root / "_SUCCESS", "")
    for hour in (3, 4, 17):  # a day with only some hours
        _write(tmp_path / "logs" / "dt=2026-11-01" / f"hr={hour:02d}" / "p.csv", f"1,h{hour}\n")
    s = _settings(
        settings,
        avazu_hours={"kind": "text", "format": "csv", "path": str(root / "hour={yymmdd}*"), "contract": "hourly"},
        dt_hr={
            "kind": "text",
            "format": "csv",
            "path": str(tmp_path / "logs" / "dt={ds}" / "hr=*"),
            "contract": "hourly",
        },
    )
    res = ingest_day(spark, s, "avazu_hours", DAY)
    assert _counts(res) == (24, 24, 0)
    assert sorted(r[1] for r in _rows(spark, "stg.avazu_hours")) == sorted(f"s{h}" for h in range(24))
    spec = s.sources.sources["avazu_hours"]
    assert available_partitions(spark, s, spec) == ["2026-10-31", "2026-11-01", "2026-11-02"]
    assert partition_available(spark, s, "avazu_hours", DAY) == (True, f"{root}/hour=261101*: 24 paths match")
    assert partition_available(spark, s, "avazu_hours", DAY + dt.timedelta(days=5))[0] is False
    assert _counts(ingest_day(spark, s, "dt_hr", DAY)) == (3, 3, 0)
    assert available_partitions(spark, s, s.sources.sources["dt_hr"]) == ["2026-11-01"]
    with pytest.raises(DataError, match=r"source dt_hr: no files at .*/logs/dt=2026-11-02/hr=\*"):
        ingest_day(spark, s, "dt_hr", DAY + dt.timedelta(days=1))


def test_hive_table_partitioned_by_hour_values(spark, settings, caplog):
    tables.ensure_database(spark, "raw.hourly_clicks")
    rows = [(h % 2, f"s{h}", f"20261101{h:02d}") for h in range(5)] + [(1, "before", "2026103123")]
    spark.createDataFrame(rows, "click int, site string, hour string").write.mode("overwrite").partitionBy(
        "hour"
    ).format("parquet").saveAsTable("raw.hourly_clicks")
    spark.createDataFrame(
        [(1, "a", "2026-11-01", "05"), (0, "b", "2026-11-01", "06"), (1, "c", "2026-11-02", "00")],
        "click int, site string, dt string, hr string",
    ).write.mode("overwrite").partitionBy("dt", "hr").format("parquet").saveAsTable("raw.dt_hr_clicks")
    s = _settings(
        settings,
        hive_hours={
            "kind": "hive",
            "table": "raw.hourly_clicks",
            "partition_format": "yyyyMMddHH",
            "contract": "hourly",
        },
        hive_dt_hr={"kind": "hive", "table": "raw.dt_hr_clicks", "contract": "hourly"},
    )
    with caplog.at_level(logging.WARNING, logger="ctrflow.ingest"):
        res = ingest_day(spark, s, "hive_hours", DAY)
    assert _counts(res) == (5, 5, 0)
    assert "source hive_hours ds=2026-11-01: 5 of 24 hours found" in caplog.text
    assert [r[1] for r in _rows(spark, "stg.hive_hours")] == ["s0", "s2", "s4", "s1", "s3"]
    assert available_partitions(spark, s, s.sources.sources["hive_hours"]) == ["2026-10-31", "2026-11-01"]
    assert partition_available(spark, s, "hive_hours", DAY) == (
        True,
        "raw.hourly_clicks hour: 5 partitions of 2026-11-01 (yyyyMMddHH)",
    )
    with pytest.raises(
        DataError,
        match=r"source hive_hours: no partition hour of 2026-11-02 \(as yyyyMMddHH\) in "
        r"raw.hourly_clicks \(latest: .*2026110104\)",
    ):
        ingest_day(spark, s, "hive_hours", DAY + dt.timedelta(days=1))
    # partitioned by day then hour: the day's hours are read together and `hr` is not a drifted column
    assert _counts(ingest_day(spark, s, "hive_dt_hr", DAY)) == (2, 2, 0)
    assert _rows(spark, "stg.hive_dt_hr") == [(0, "b"), (1, "a")]


def test_parquet_hour_directories_and_an_hour_column(spark, settings, tmp_path):
    for hour in (0, 1, 23):
        spark.createDataFrame([(1, f"s{hour}")], "click int, site string").write.parquet(
            str(tmp_path / "pq" / f"hour=261101{hour:02d}")
        )
    spark.createDataFrame([(0, "next")], "click int, site string").write.parquet(str(tmp_path / "pq" / "hour=26110200"))
    # Avazu: no partitions, the hour (YYMMDDHH) is a column
    spark.createDataFrame(
        [(1, 26110100), (0, 26110123), (1, 26110200), (1, 26103123)], "click int, hour int"
    ).write.parquet(str(tmp_path / "avazu_flat"))
    s = _settings(
        settings,
        pq_hours={
            "kind": "parquet",
            "path": str(tmp_path / "pq"),
            "partition_column": "hour",
            "partition_format": "yyMMddHH",
            "contract": "hourly",
        },
        avazu_flat={
            "kind": "parquet",
            "path": str(tmp_path / "avazu_flat"),
            "date_column": "hour",
            "date_format": "yyMMddHH",
            "contract": "hour_column",
        },
    )
    assert _counts(ingest_day(spark, s, "pq_hours", DAY)) == (3, 3, 0)
    assert _rows(spark, "stg.pq_hours") == [(1, "s0"), (1, "s1"), (1, "s23")]
    assert available_partitions(spark, s, s.sources.sources["pq_hours"]) == ["2026-11-01", "2026-11-02"]
    assert partition_available(spark, s, "pq_hours", DAY)[0]
    assert not partition_available(spark, s, "pq_hours", DAY - dt.timedelta(days=1))[0]
    assert _counts(ingest_day(spark, s, "avazu_flat", DAY)) == (2, 2, 0)
    assert _rows(spark, "stg.avazu_flat") == [(0, 26110123), (1, 26110100)]


def test_an_id_beyond_bigint_asks_for_a_string_column(spark, settings, tmp_path):
    _write(
        tmp_path / "ids" / f"ds={DAY}" / "train.csv",
        "id,click\n10000174058809263569,1\n1000009418151094273,0\nabc,1\n-10000174058809263569,0\n5,99999999999\n",
    )
    spec = {
        "kind": "text",
        "format": "csv",
        "header": True,
        "path": str(tmp_path / "ids" / "ds={ds}"),
        "max_bad_fraction": 0.25,
    }
    s = _settings(settings, ids={**spec, "contract": "avazu_id"}, ids_text={**spec, "contract": "avazu_id_text"})
    with pytest.raises(DataError) as e:
        ingest_day(spark, s, "ids", DAY)
    msg = str(e.value)
    assert "4 of 5 rows (80.00%) break contract avazu_id" in msg
    assert "top reasons: id: integer outside bigint's range (declare `type: string`) (2 rows), " in msg
    assert "id: not a valid bigint (1 rows)" in msg
    bound = "[-9223372036854775808, 9223372036854775807]"
    assert _quarantine(spark, "stg.ids_quarantine") == {
        "10000174058809263569,1": f"id: '10000174058809263569' is an integer outside bigint's range {bound}: "
        "declare the column `type: string` in the contract",
        "-10000174058809263569,0": f"id: '-10000174058809263569' is an integer outside bigint's range {bound}: "
        "declare the column `type: string` in the contract",
        "abc,1": "id: not a valid bigint: 'abc'",
        "5,99999999999": "click: '99999999999' is an integer outside int's range [-2147483648, 2147483647]: "
        "declare the column `type: bigint` in the contract (`type: string` for an id)",
    }
    assert _counts(ingest_day(spark, s, "ids_text", DAY)) == (5, 4, 1)
    assert ("10000174058809263569", 1) in _rows(spark, "stg.ids_text")
