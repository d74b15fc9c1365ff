"""time_parts: hour of day and weekday of YYMMDDHH numbers, strings and timestamps; 0 for missing or bad."""

from __future__ import annotations

import datetime as dt

from pipelines.features.builder import PipelineSpec, StageEntry, validate
from pipelines.features.stages.time_parts import TimeParts
from tests.unit.features.conftest import rows


def test_hour_and_weekday_of_an_avazu_hour_column(spark, roundtrip):
    # 2026-11-01 is a Sunday (weekday 7), 2026-11-02 a Monday (1)
    df = spark.createDataFrame(
        [(1, 26110100), (2, 26110123), (3, 26110205), (4, None), (5, 26999999)], "id int, hour int"
    )
    model, out = roundtrip([TimeParts(inputCols=["hour"], timeFormat="yyMMddHH")], df)
    assert rows(out, "hour_hour", "hour_weekday") == {1: (1, 7), 2: (24, 7), 3: (6, 1), 4: (0, 0), 5: (0, 0)}
    assert model.stages[0].vocabSizes() == {"hour_hour": 25, "hour_weekday": 8}


def test_timestamps_and_one_part(spark):
    df = spark.createDataFrame([(1, dt.datetime(2026, 11, 3, 17, 5)), (2, None)], "id int, t timestamp")
    out = TimeParts(inputCols=["t"], parts=["hour"]).transform(df)
    assert "t_weekday" not in out.columns
    assert rows(out, "t_hour") == {1: (18,), 2: (0,)}


def test_the_builder_types_its_outputs_as_categorical():
    spec = PipelineSpec(
        source="s",
        label="click",
        stages=[StageEntry("parts", "time_parts", {"inputs": ["hour"], "format": "yyMMddHH"})],
    )
    plan = validate(spec, {"click": "int", "hour": "int"})
    assert plan.features == ["hour_hour", "hour_weekday"]
    assert {plan.columns[f].column.kind for f in plan.features} == {"categorical"}
