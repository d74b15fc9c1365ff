"""Ingest accounting on tiny sources made here: reasons ranked by rows wherever they are shown or stored,
unparsable values named as such (never "missing"), every file under a day path read or reported as
skipped, rejected runs recorded so that the quarantine and stg partitions of a day are explained, and
scratch data of dead runs removed on start."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from pipelines.common import schema
from pipelines.common.errors import DataError
from pipelines.ingest.catalog import last_ingests
from pipelines.ingest.contract import validated_typed
from pipelines.ingest.describe import describe_sources
from pipelines.ingest.load import ingest_day
from pipelines.ingest.settings import SourcesSettings

DAY = dt.date(2026, 11, 1)
CONTRACT = {"columns": [
    {"name": "Label", "type": "int", "nullable": False, "min": 0, "max": 1},
    {"name": "Count", "type": "int", "min": 0},
    {"name": "Cat", "type": "string", "pattern": "[a-z]+"},
]}


def _settings(settings, catalog: str | None = None, **sources):
    contracts = {"t": CONTRACT, "criteo": dataclasses.asdict(settings.sources.contracts["criteo"])}
    data = {"sources": sources, "contracts": contracts, **({"catalog_table": catalog} if catalog else {})}
    return dataclasses.replace(settings, sources=schema.build(SourcesSettings, data))


def _csv(tmp_path, name: str, lines: list[str], day=DAY, **extra) -> dict:
    d = tmp_path / name / f"ds={day}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "part-0.csv").write_text("Label,Count,Cat\n" + "".join(f"{line}\n" for line in lines))
    return {"kind": "text", "path": str(tmp_path / name / "ds={ds}"), "header": True, "contract": "t",
            "max_bad_fraction": 0.9, **extra}


def _keys(spark, table: str) -> list[list[str]]:
    return sorted(r.reason_keys for r in spark.table(table).collect())


RANKED = [{"reason": "wrong number of fields", "rows": 3}, {"reason": "Count: below min", "rows": 2},
          {"reason": "Label: not a valid int", "rows": 1}]


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
        spark, s)
    strict = _settings(settings, ranked={**spec, "max_bad_fraction": 0.1})
    with pytest.raises(DataError, match=r"top reasons: wrong number of fields \(3 rows\), Count: below min "
                                        r"\(2 rows\), Label: not a valid int \(1 rows\);"):
        ingest_day(spark, strict, "ranked", DAY)


def test_an_unparsable_label_is_not_a_missing_one(spark, settings, tmp_path):
    d = tmp_path / "crit" / f"ds={DAY}"
    d.mkdir(parents=True)
    empty = "\t" * 39  # the 39 other fields of Criteo's TSV, all missing (allowed)
    d.joinpath("part-0").write_text("".join(f"{label}{empty}\n" for label in ["1", "0", "abc", "2", "1.5", "", " "]))
    s = _settings(settings, crit_labels={"kind": "text", "path": str(tmp_path / "crit" / "ds={ds}"),
                                         "delimiter": "\t", "contract": "criteo", "max_bad_fraction": 0.9})
    res = ingest_day(spark, s, "crit_labels", DAY)
    assert (res["staged_rows"], res["quarantined_rows"]) == (2, 5)
    reasons = {r["reason"]: r["rows"] for r in res["top_reasons"]}
    assert reasons == {"label: not a valid int": 3, "label: above max": 1, "label: missing required value": 1}
    q = {r.raw.split("\t")[0]: r.reason for r in spark.table("stg.crit_labels_quarantine").collect()}
    assert q == {"abc": "label: not a valid int: 'abc'", "2": "label: 2 > max 1",
                 "1.5": "label: not a valid int: '1.5'", " ": "label: not a valid int: ' '",
                 "": "label: missing required value"}


def test_a_typed_value_that_does_not_convert_is_not_missing(spark, settings):
    # check_drift lets only widening casts through; validated_typed is still exact when a cast fails
    df = spark.createDataFrame([("1", 3, "a"), ("abc", 3, "a"), ("2", 3, "a"), (None, None, "a")],
                               "Label string, Count int, Cat string")
    contract = _settings(settings).sources.contracts["t"]
    rows = {r._raw: (r._reason, r._reason_keys) for r in validated_typed(df, contract).collect()}
    assert rows == {
        None: ("", []),
        '{"Label":"abc","Count":3,"Cat":"a"}': ("Label: not a valid int: 'abc'", ["Label: not a valid int"]),
        '{"Label":"2","Count":3,"Cat":"a"}': ("Label: 2 > max 1", ["Label: above max"]),
        '{"Cat":"a"}': ("Label: missing required value", ["Label: missing required value"]),
    }
