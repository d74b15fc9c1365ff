"""register_candidate on a tiny registry: the first candidate (no champion), then one judged beside the champion."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipelines.registry import candidates
from pipelines.registry.store import Registry
from pipelines.settings.registry import GateSettings

DS = dt.date(2026, 11, 2)


@pytest.fixture
def day(spark):
    rows = [(i % 3 == 0 and 1 or 0, i % 4, (i % 3 == 0) * 0.5 + (i % 7) / 20) for i in range(300)]
    return spark.createDataFrame(rows, "label int, g int, x double")


def _scored(day, *names):
    from pyspark.sql import functions as F

    return {
        n: day.withColumn("probability", F.col("x") * w + 0.05).select("label", "g", "probability")
        for n, w in zip(names, (1.0, 0.5, 0.2), strict=False)
    }


def _register(spark, reg, day, **kw):
    return candidates.register_candidate(
        spark,
        reg,
        "m",
        DS,
        _scored(day, "m", "lr"),
        day,
        staged=reg.stage("m"),
        table="feat.t",
        label="label",
        kind="k",
        flavor="spark_pipeline",
        config={"a": 1},
        inputs={"feat.t": 3},
        extra={"train_days": ["d"]},
        context={"validation day": DS},
        **kw,
    )


def test_first_candidate_has_no_champion_to_face(spark, tmp_path, day, monkeypatch):
    monkeypatch.setattr(candidates, "score", lambda *a: pytest.fail("no champion to score"))
    reg = Registry(str(tmp_path / "models"), GateSettings(metric="auc"))
    done = _register(spark, reg, day)
    mv = reg.get("m", "v0001")
    report = json.loads(Path(mv.artifacts, "report", "report.json").read_text())
    assert set(report["metrics"]) == {"m", "lr"} and report["context"]["validation day"] == str(DS)
    assert mv.metrics == report["metrics"]["m"] and mv.extra["baselines"] == {"lr": report["metrics"]["lr"]}
    assert "champion_eval" not in mv.extra and (mv.config, mv.inputs, mv.kind) == ({"a": 1}, {"feat.t": 3}, "k")
    assert done.result() == {
        "version": "v0001",
        "uri": mv.uri,
        "report": f"{mv.artifacts}/report/report.md",
        "eval_ds": "2026-11-02",
        "train_days": ["d"],
        "metrics": done.summary,
    }
    assert set(done.summary["lr"]) == {"auc", "logloss", "ne", "calibration"}


def test_champion_is_scored_on_the_same_day_and_recorded(spark, tmp_path, day, monkeypatch):
    from pyspark.sql import functions as F

    reg = Registry(str(tmp_path / "models"), GateSettings(metric="auc"))
    _register(spark, reg, day)
    reg.publish("m", "v0001")
    calls = []

    def score(spark_, mv, df):
        calls.append((mv.version, df))
        return df.withColumn("probability", F.lit(0.3)).withColumn("extra", F.lit(1))

    monkeypatch.setattr(candidates, "score", score)
    done = _register(spark, reg, day, group_col="g", persist=True)
    assert calls == [("v0001", day)]
    mv = reg.get("m", "v0002")
    report = json.loads(Path(mv.artifacts, "report", "report.json").read_text())
    assert set(report["metrics"]) == {"m", "lr", "champion v0001"} and "gauc" in report["metrics"]["m"]
    assert mv.extra["champion_eval"] == {"version": "v0001", "metrics": report["metrics"]["champion v0001"]}
    assert report["metrics"]["champion v0001"]["auc"] == 0.5  # a constant: scored on the same rows
    assert set(done.summary) == {"m", "lr", "champion v0001"}
    assert reg.evaluate_gate("m", "v0002").candidate == "v0002"
