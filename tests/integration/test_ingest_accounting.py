"""Ingest accounting on tiny sources made here: reasons ranked by rows wherever they are shown or stored,
unparsable values named as such (never "missing"), every file under a day path read or reported as
skipped, rejected runs recorded so that the quarantine and stg partitions of a day are explained, bad rows
quarantined from the files that hold them and nothing left behind by a rejected run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging

import pytest

from pipelines.common import schema
from pipelines.core.errors import DataError
from pipelines.ingest.catalog import last_ingests
from pipelines.ingest.contract import validated_typed
from pipelines.ingest.describe import describe_sources
from pipelines.ingest.files import UNREADABLE, account
from pipelines.ingest.formats import read_lines
from pipelines.ingest.load import ingest_day
from pipelines.settings.sources import SourcesSettings
from tests.integration.ingest_sources import CONTRACT, DAY, csv_spec


def _settings(settings, catalog: str | None = None, **sources):
    contracts = {"t": CONTRACT, "criteo": dataclasses.asdict(settings.sources.contracts["criteo"])}
    data = {"sources": sources, "contracts": contracts, **({"catalog_table": catalog} if catalog else {})}
    return dataclasses.replace(settings, sources=schema.build(SourcesSettings, data))


def _csv(tmp_path, name: str, lines: list[str], day=DAY, **extra) -> dict:
    return csv_spec(tmp_path, name, lines, day, **{"max_bad_fraction": 0.9, **extra})


def _keys(spark, table: str) -> list[list[str]]:
    return sorted(r.reason_keys for r in spark.table(table).collect())


RANKED = [
    {"reason": "wrong number of fields", "rows": 3},
    {"reason": "Count: below min", "rows": 2},
    {"reason": "Label: not a valid int", "rows": 1},
]


def test_reasons_are_ranked_by_rows_in_the_result_catalog_message_and_describe(spark, settings, tmp_path):
    lines = ["1,1,a", "x,1,a", "1,1", "0,2", "1", "1,-1,a", "0,-5,b"]  # alphabetical order is not rank order
    spec = _csv(tmp_path, "ranked", lines)
    s = _settings(settings, ranked=spec)
    res = ingest_day(spark, s, "ranked", DAY)
    assert res["top_reasons"] == RANKED
    # the job harness logs the result as JSON with sorted keys: the ranking is a list and survives it
    assert json.loads(json.dumps(res, default=str, sort_keys=True))["top_reasons"] == RANKED
    stored = spark.table("stg.ingest_catalog").where("source = 'ranked'").first()["top_reasons"]
    assert json.loads(stored) == RANKED
    assert last_ingests(spark, s, "ranked")[0]["top_reasons"] == RANKED
    assert "(wrong number of fields (3), Count: below min (2), Label: not a valid int (1))" in describe_sources(
        spark, s
    )
    strict = _settings(settings, ranked={**spec, "max_bad_fraction": 0.1})
    with pytest.raises(
        DataError,
        match=r"top reasons: wrong number of fields \(3 rows\), Count: below min "
        r"\(2 rows\), Label: not a valid int \(1 rows\);",
    ):
        ingest_day(spark, strict, "ranked", DAY)


def test_an_unparsable_label_is_not_a_missing_one(spark, settings, tmp_path):
    d = tmp_path / "crit" / f"ds={DAY}"
    d.mkdir(parents=True)
    empty = "\t" * 39  # the 39 other fields of Criteo's TSV, all missing (allowed)
    d.joinpath("part-0").write_text("".join(f"{label}{empty}\n" for label in ["1", "0", "abc", "2", "1.5", "", " "]))
    s = _settings(
        settings,
        crit_labels={
            "kind": "text",
            "path": str(tmp_path / "crit" / "ds={ds}"),
            "delimiter": "\t",
            "contract": "criteo",
            "max_bad_fraction": 0.9,
        },
    )
    res = ingest_day(spark, s, "crit_labels", DAY)
    assert (res["staged_rows"], res["quarantined_rows"]) == (2, 5)
    reasons = {r["reason"]: r["rows"] for r in res["top_reasons"]}
    assert reasons == {"label: not a valid int": 3, "label: above max": 1, "label: missing required value": 1}
    q = {r.raw.split("\t")[0]: r.reason for r in spark.table("stg.crit_labels_quarantine").collect()}
    assert q == {
        "abc": "label: not a valid int: 'abc'",
        "2": "label: 2 > max 1",
        "1.5": "label: not a valid int: '1.5'",
        " ": "label: not a valid int: ' '",
        "": "label: missing required value",
    }


def test_a_typed_value_that_does_not_convert_is_not_missing(spark, settings):
    # check_drift lets only widening casts through; validated_typed is still exact when a cast fails
    df = spark.createDataFrame(
        [("1", 3, "a"), ("abc", 3, "a"), ("2", 3, "a"), (None, None, "a")], "Label string, Count int, Cat string"
    )
    contract = _settings(settings).sources.contracts["t"]
    rows = {r._raw: (r._reason, r._reason_keys) for r in validated_typed(df, contract).collect()}
    assert rows == {
        None: ("", []),
        '{"Label":"abc","Count":3,"Cat":"a"}': ("Label: not a valid int: 'abc'", ["Label: not a valid int"]),
        '{"Label":"2","Count":3,"Cat":"a"}': ("Label: 2 > max 1", ["Label: above max"]),
        '{"Cat":"a"}': ("Label: missing required value", ["Label: missing required value"]),
    }


HIDDEN = "hidden file (name starts with '_' or '.')"


def test_every_file_under_a_text_day_path_is_read_or_reported_skipped(spark, settings, tmp_path, caplog):
    spec = _csv(tmp_path, "acct", ["1,1,a"])
    d = tmp_path / "acct" / f"ds={DAY}"
    (d / "part-1.csv").write_text("Label,Count,Cat\n0,2,b\n")
    (d / "_SUCCESS").write_text("")
    (d / "_hidden.csv").write_text("Label,Count,Cat\n1,3,c\n")  # data Spark leaves out by its name
    (d / "copy.csv._COPYING_").write_text("Label,Count,Cat\n1,4,c\n")
    (d / "sub").mkdir()
    (d / "sub" / "extra.csv").write_text("Label,Count,Cat\n1,5,d\n")
    (d / "_temporary" / "0").mkdir(parents=True)
    (d / "_temporary" / "0" / "part-9.csv").write_text("x\n")
    s = _settings(settings, acct=spec)
    with caplog.at_level(logging.INFO, logger="ctrflow.ingest"):
        res = ingest_day(spark, s, "acct", DAY)
    assert (res["input_rows"], res["staged_rows"]) == (2, 2)
    assert res["skipped_files"] == {
        "count": 5,
        "first": [
            {"path": "_SUCCESS", "reason": "marker"},
            {"path": "_hidden.csv", "reason": HIDDEN},
            {"path": "_temporary/", "reason": "hidden directory (name starts with '_' or '.')"},
            {"path": "copy.csv._COPYING_", "reason": "copy in progress (name ends with '._COPYING_')"},
            {"path": "sub/extra.csv", "reason": "subdirectory not read"},
        ],
    }
    [line] = [r for r in caplog.records if "not read" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert line.getMessage() == (
        f"source acct ds=2026-11-01: under {d}, 2 file(s) read, 5 file(s) not read: _SUCCESS (marker), "
        f"_hidden.csv ({HIDDEN}), _temporary/ (hidden directory (name starts with '_' or '.')), "
        "copy.csv._COPYING_ (copy in progress (name ends with '._COPYING_')), sub/extra.csv (subdirectory not read)"
    )
    assert last_ingests(spark, s, "acct")[0]["skipped_files"] == res["skipped_files"]
    assert "      5 file(s) not read: _SUCCESS (marker), _hidden.csv" in describe_sources(spark, s)
    # past the first few: the whole list (the local file system hides its own .crc files from listings)
    (d / "sub" / "more.csv").write_text("1,6,e\n")
    files = account(spark, read_lines(spark, [str(d)], True), [str(d)])
    assert files.read == 2 and files.skipped[-2:] == [
        ("sub/extra.csv", "subdirectory not read"),
        ("sub/more.csv", "subdirectory not read"),
    ]
    # a broken link (a landing file gone under its name): Hadoop's local listing drops it without a word
    (d / "part-2.csv").symlink_to(tmp_path / "gone.csv")
    (d / "sub" / "part-3.csv").symlink_to(tmp_path / "gone.csv")
    files = account(spark, read_lines(spark, [str(d)], True), [str(d)])
    unreadable = [f for f in files.skipped if f[1].startswith("unreadable")]
    assert unreadable == [("part-2.csv", UNREADABLE), ("sub/part-3.csv", UNREADABLE)]


def test_glob_matches_hidden_ones_included_and_spark_written_parquet(spark, settings, tmp_path, caplog):
    day = tmp_path / "hours" / f"dt={DAY}"
    for hour in ("h01", "h02"):
        (day / hour).mkdir(parents=True)
        (day / hour / "p.csv").write_text(f"1,{hour[1:]},a\n")
    (day / "_SUCCESS").write_text("")  # matched by the glob, left out by Spark's rule: reported
    (day / "h01" / ".p.csv.swp").write_text("")
    spark.createDataFrame([(1, 2, "ab")], "Label int, Count int, Cat string").coalesce(1).write.parquet(
        str(tmp_path / "pq" / f"ds={DAY}")
    )
    s = _settings(
        settings,
        hours={"kind": "text", "format": "csv", "path": str(tmp_path / "hours" / "dt={ds}" / "*"), "contract": "t"},
        pq_acct={"kind": "parquet", "path": str(tmp_path / "pq"), "contract": "t"},
    )
    res = ingest_day(spark, s, "hours", DAY)
    assert res["input_rows"] == 2
    assert res["skipped_files"] == {
        "count": 2,
        "first": [{"path": "_SUCCESS", "reason": "marker"}, {"path": "h01/.p.csv.swp", "reason": HIDDEN}],
    }
    with caplog.at_level(logging.INFO, logger="ctrflow.ingest"):
        res = ingest_day(spark, s, "pq_acct", DAY)
    # what a Spark write leaves beside its data: bookkeeping, reported at INFO
    assert res["skipped_files"] == {"count": 1, "first": [{"path": "_SUCCESS", "reason": "marker"}]}
    [line] = [r for r in caplog.records if "source pq_acct" in r.getMessage() and "not read" in r.getMessage()]
    assert line.levelno == logging.INFO and "1 file(s) read" in line.getMessage()


OLD_CATALOG_DDL = (  # the catalog's columns before skipped files and run status were recorded
    "source string, ds string, run_id string, ingested_at timestamp, location string, input_rows bigint, "
    "staged_rows bigint, quarantined_rows bigint, top_reasons string, observed_schema string, "
    "stg_table string, stg_version bigint, column_stats string, sample string, config_hash string"
)


def test_a_catalog_table_of_the_older_shape_takes_new_entries(spark, settings, tmp_path):
    old = (
        (
            "old_cat",
            str(DAY),
            "old_cat-2026-11-01-0",
            dt.datetime(2026, 11, 2),
            "x",
            3,
            2,
            1,
            json.dumps({"a: pattern": 1, "b: below min": 4}, sort_keys=True),
            "s",
            "stg.old_cat",
            0,
            "{}",
            "[]",
            "",
        ),
    )
    spark.sql("CREATE DATABASE IF NOT EXISTS stg")
    spark.createDataFrame(old, OLD_CATALOG_DDL).write.format("delta").saveAsTable("stg.old_shape_catalog")
    s = _settings(settings, catalog="old_shape_catalog", old_cat=_csv(tmp_path, "old_cat", ["1,1,a", "1"]))
    res = ingest_day(spark, s, "old_cat", DAY)
    new, older = last_ingests(spark, s, "old_cat")
    assert new["run_id"] == res["run_id"] and new["skipped_files"] == {"count": 0, "first": []}
    assert older["skipped_files"] is None and (older["status"], new["status"]) == ("staged", "staged")
    assert older["top_reasons"] == [{"reason": "b: below min", "rows": 4}, {"reason": "a: pattern", "rows": 1}]
    assert "ingested ds=2026-11-01 at 2026-11-02 00:00: 3 rows" in describe_sources(spark, s)


def test_a_rejected_run_is_recorded_and_describe_says_which_run_each_partition_holds(spark, settings, tmp_path):
    from pipelines.common import tables
    from pipelines.features.day_quality import day_quality

    spec = _csv(tmp_path, "recon", ["1,1,a", "0,2,b", "x,1,a"], max_bad_fraction=0.5)
    s = _settings(settings, recon=spec)
    staged = ingest_day(spark, s, "recon", DAY)["run_id"]
    assert "    ! " not in describe_sources(spark, s)
    (tmp_path / "recon" / f"ds={DAY}" / "part-0.csv").write_text("Label,Count,Cat\nx,1,a\ny,1,a\n1,1,a\n")
    with pytest.raises(
        DataError,
        match=r"rows kept in stg.recon_quarantine, run recon-2026-11-01-\w+ recorded as "
        r"rejected$",
    ) as e:
        ingest_day(spark, s, "recon", DAY)
    rejected = str(e.value).split(", run ")[-1].split()[0]
    entries = last_ingests(spark, s, "recon")
    assert [(x["run_id"], x["status"], x["staged_rows"], x["quarantined_rows"]) for x in entries] == [
        (rejected, "rejected", 0, 2),
        (staged, "staged", 2, 1),
    ]
    assert entries[0]["stg_version"] is None and entries[0]["top_reasons"] == [
        {"reason": "Label: not a valid int", "rows": 2}
    ]
    assert {r.run_id for r in spark.table("stg.recon_quarantine").collect()} == {rejected}
    assert spark.table("stg.recon").count() == 2  # the staged run's rows
    out = describe_sources(spark, s)
    assert (
        f"    rejected ds=2026-11-01 at {entries[0]['ingested_at']:%Y-%m-%d %H:%M}: 3 rows, 2 quarantined "
        f"(Label: not a valid int (2)): above max_bad_fraction, stg not touched (run {rejected})"
    ) in out
    assert f"    ! ds=2026-11-01: quarantine from run {rejected} (rejected, 2 rows); stg from run {staged}" in out
    # the quality probe reads the run stg holds, not the rejected one
    assert day_quality(spark, s, "recon", "ctr_default", DAY)["ingest"]["run_id"] == staged
    # a run killed between its two commits: quarantine rows of a run the catalog does not know
    killed = "recon-2026-11-01-0000dead"
    tables.write_delta_partition(
        spark.createDataFrame(
            [("z", "r", ["k"], killed)], "raw string, reason string, reason_keys array<string>, run_id string"
        ),
        "stg.recon_quarantine",
        DAY,
    )
    assert (
        f"    ! ds=2026-11-01: quarantine from run {killed} (not in the catalog: the run stopped before "
        f"recording, 1 rows); stg from run {staged}, or {killed} if it was killed after committing stg"
    ) in describe_sources(spark, s)
    (tmp_path / "recon" / f"ds={DAY}" / "part-0.csv").write_text("Label,Count,Cat\n1,1,a\n")
    ingest_day(spark, s, "recon", DAY)
    assert "    ! " not in describe_sources(spark, s)  # a staged rerun makes the day whole again


def test_bad_rows_are_quarantined_from_their_files_and_a_rejected_run_leaves_no_files(spark, settings, tmp_path):
    import os

    from pyspark.sql import functions as F

    spec = _csv(tmp_path, "split", ["1,1,a", "0,2,b"], max_bad_fraction=0.5)
    day_dir = tmp_path / "split" / f"ds={DAY}"
    (day_dir / "part-1.csv").write_text("Label,Count,Cat\n1,3,c\nx,1,a\n0,-1,d\n")  # two bad rows here
    (day_dir / "part-2.csv").write_text("Label,Count,Cat\n0,4,e\n")
    s = _settings(settings, split=spec)
    res = ingest_day(spark, s, "split", DAY)
    assert (res["input_rows"], res["staged_rows"], res["quarantined_rows"]) == (6, 4, 2)
    assert sorted(r.raw for r in spark.table("stg.split_quarantine").collect()) == ["0,-1,d", "x,1,a"]
    assert sorted(r.cat for r in spark.table("stg.split").collect()) == ["a", "b", "c", "e"]

    def files_on_disk() -> set[str]:
        part = spark.sql("DESCRIBE DETAIL stg.split").first()["location"].removeprefix("file:") + f"/ds={DAY}"
        return {f for f in os.listdir(part) if f.endswith(".parquet")}

    def files_of_the_table() -> set[str]:
        return {os.path.basename(f) for f in spark.table("stg.split").where(F.col("ds") == str(DAY)).inputFiles()}

    assert files_on_disk() == files_of_the_table()
    (day_dir / "part-2.csv").write_text("Label,Count,Cat\ny,1,a\nz,1,a\nw,1,a\n")  # 5 of 8 rows bad: rejected
    before = files_on_disk()
    with pytest.raises(DataError, match="recorded as rejected"):
        ingest_day(spark, s, "split", DAY)
    assert files_on_disk() == before == files_of_the_table()  # the rejected run's files were deleted
    assert spark.table("stg.split").count() == 4
