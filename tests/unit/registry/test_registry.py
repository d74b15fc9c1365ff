"""The registry on the local filesystem: versions, lineage, champion gate."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from pipelines.core.errors import DataError
from pipelines.registry.store import Registry
from pipelines.settings.registry import GateSettings


@pytest.fixture
def reg(tmp_path):
    return Registry(str(tmp_path / "models"), GateSettings(metric="auc"))


def _artifacts(tmp_path, text="w"):
    d = tmp_path / f"art-{uuid.uuid4().hex[:8]}"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "weights.txt").write_text(text)
    return str(d)


def _register(reg, tmp_path, auc, ds="2026-11-02", extra=None, text="w"):
    return reg.register(
        "ctr",
        _artifacts(tmp_path, text),
        kind="gbdt_lr",
        flavor="spark_pipeline",
        eval_ds=ds,
        metrics={"auc": auc, "logloss": 0.4},
        config={"a": 1},
        inputs={"feat.x": 3},
        extra=extra,
    )


def test_versions_are_numbered_and_carry_lineage(reg, tmp_path):
    v1 = _register(reg, tmp_path, 0.70, text="one")
    v2 = _register(reg, tmp_path, 0.71, text="two")
    assert (v1.version, v2.version) == ("v0001", "v0002")
    assert [v.version for v in reg.versions("ctr")] == ["v0001", "v0002"]
    got = reg.get("ctr", "v0002")
    assert got.inputs == {"feat.x": 3} and got.metrics["auc"] == 0.71 and got.config == {"a": 1}
    assert open(f"{got.artifacts}/sub/weights.txt").read() == "two"
    assert reg.names() == ["ctr"]


def test_incomplete_version_is_ignored(reg, tmp_path):
    _register(reg, tmp_path, 0.70)
    (tmp_path / "models" / "ctr" / "v0002").mkdir()  # a half-written version: no meta.json
    assert [v.version for v in reg.versions("ctr")] == ["v0001"]
    assert _register(reg, tmp_path, 0.72).version == "v0003"  # the number is not reused


def test_gate_accepts_first_and_better_refuses_worse(reg, tmp_path):
    v1 = _register(reg, tmp_path, 0.70)
    first = reg.publish("ctr", v1.version)
    assert first.accepted and "first" in first.reason
    worse = _register(reg, tmp_path, 0.69)
    d = reg.publish("ctr", worse.version)
    assert not d.accepted and "does not beat" in d.reason and reg.champion("ctr").version == "v0001"
    better = _register(reg, tmp_path, 0.75)
    d = reg.publish("ctr", better.version)
    assert d.accepted and reg.champion("ctr").version == better.version
    assert [x["accepted"] for x in reg.decisions("ctr")] == [True, False, True]


def test_gate_floors_refuse_a_constant_predictor_even_as_the_first_model(reg, tmp_path):
    """AUC 0.5 (or NE >= 1) is what a constant prediction scores: a diverged model is never published."""
    flat = _register(reg, tmp_path, 0.5)
    d = reg.publish("ctr", flat.version)
    assert not d.accepted and "fails the floor on auc" in d.reason and reg.champion("ctr") is None
    no_better_than_base_rate = reg.register(
        "ctr",
        _artifacts(tmp_path),
        kind="gbdt_lr",
        flavor="spark_pipeline",
        eval_ds="2026-11-02",
        metrics={"auc": 0.6, "ne": 1.02},
    )
    d = reg.publish("ctr", no_better_than_base_rate.version)
    assert not d.accepted and "fails the floor on ne" in d.reason
    assert reg.publish("ctr", _register(reg, tmp_path, 0.51).version).accepted
    lenient = Registry(str(tmp_path / "models"), GateSettings(metric="auc", floors={}))
    assert lenient.evaluate_gate("ctr", flat.version).reason.startswith("v0001 does not beat")
    with pytest.raises(ValueError, match="gate metric 'rmse'"):
        GateSettings(floors={"rmse": 1.0}).validate()


def test_gate_needs_the_same_evaluation_day(reg, tmp_path):
    reg.publish("ctr", _register(reg, tmp_path, 0.70, ds="2026-11-01").version)
    other_day = _register(reg, tmp_path, 0.90, ds="2026-11-02")
    d = reg.evaluate_gate("ctr", other_day.version)
    assert not d.accepted and "cannot compare" in d.reason
    # the training job measured the champion on the candidate's day: that is what is compared
    measured = _register(
        reg, tmp_path, 0.72, ds="2026-11-02", extra={"champion_eval": {"version": "v0001", "metrics": {"auc": 0.73}}}
    )
    d = reg.evaluate_gate("ctr", measured.version)
    assert not d.accepted and d.champion_value == 0.73


def test_lower_is_better_metric_and_margin(reg, tmp_path):
    reg.publish("ctr", _register(reg, tmp_path, 0.70).version)
    v = _register(reg, tmp_path, 0.705)
    assert not reg.evaluate_gate("ctr", v.version, min_delta=0.01).accepted
    assert reg.evaluate_gate("ctr", v.version, metric="auc").accepted
    d = reg.evaluate_gate("ctr", v.version, metric="logloss")  # same logloss: not better
    assert not d.accepted and "lower is better" in d.reason


def test_unknown_model_and_version_are_clear_errors(reg, tmp_path):
    with pytest.raises(DataError, match="no model named 'nope'"):
        reg.get("nope")
    _register(reg, tmp_path, 0.7)
    with pytest.raises(DataError, match="has no champion yet"):
        reg.get("ctr")
    with pytest.raises(DataError, match="no version 'v0009'"):
        reg.get("ctr", "v0009")
    champion_file = tmp_path / "models" / "ctr" / "champion.json"
    assert not champion_file.exists()
    reg.publish("ctr", "v0001", force=True)
    assert json.loads(champion_file.read_text())["version"] == "v0001"


def test_candidate_is_the_newest_version_evaluated_on_the_day(reg, tmp_path):
    with pytest.raises(
        DataError,
        match=r"^model 'ctr' has no version evaluated on 2026-11-02 to publish "
        r"\(versions: none\)$",
    ):
        reg.candidate("ctr", "2026-11-02")
    _register(reg, tmp_path, 0.70)
    _register(reg, tmp_path, 0.71)
    _register(reg, tmp_path, 0.72, ds="2026-11-03")
    assert reg.candidate("ctr", "2026-11-02").version == "v0002"
    assert reg.candidate("ctr", "2026-11-03").version == "v0003"
    assert reg.candidate("ctr", "2026-11-03", "v0001").version == "v0001"  # a given version, whatever its day
    with pytest.raises(
        DataError,
        match=r"no version evaluated on 2026-11-04 to publish \(versions: "
        r"v0001@2026-11-02, v0002@2026-11-02, v0003@2026-11-03\)",
    ):
        reg.candidate("ctr", "2026-11-04")


def test_staged_artifacts_are_moved_into_place(reg, tmp_path):
    staged = reg.stage("ctr")
    with open(f"{staged}/model.bin", "w") as f:
        f.write("spark wrote this")
    assert reg.versions("ctr") == []  # invisible until registered
    mv = reg.register(
        "ctr", staged=staged, kind="gbdt_lr", flavor="spark_pipeline", eval_ds="2026-11-02", metrics={"auc": 0.7}
    )
    assert open(f"{mv.artifacts}/model.bin").read() == "spark wrote this"
    with pytest.raises(DataError, match="not a directory from Registry.stage"):
        reg.register("ctr", staged=str(tmp_path), kind="x", flavor="y", eval_ds=None, metrics={})


def test_ctrflow_models_lists_versions_metrics_and_champion(reg, tmp_path):
    from pipelines.registry.describe import describe_models

    assert "no models registered" in describe_models(reg)
    reg.publish("ctr", _register(reg, tmp_path, 0.70).version)
    _register(reg, tmp_path, 0.65)
    reg.publish("ctr", "v0002")
    text = describe_models(reg)
    assert "ctr  (champion: v0001)" in text and "* v0001" in text and "  v0002" in text
    assert "auc 0.6500" in text and "last gate decision: refused v0002" in text


def test_the_registry_works_on_a_filesystem_other_than_the_local_one(tmp_path):
    """Every path the registry hands out (version URIs, staged directories) names its filesystem: here
    fsspec's in-memory one, through the adapter WebHDFS uses too."""
    from pipelines.common import storage

    root = f"memory://registry-{uuid.uuid4().hex[:8]}/models"
    reg = Registry(root, GateSettings(metric="auc"))
    try:
        v1 = _register(reg, tmp_path, 0.70, text="one")
        staged = reg.stage("ctr")
        storage.write_text(f"{staged}/weights.txt", "two")
        v2 = reg.register(
            "ctr", staged=staged, kind="k", flavor="f", eval_ds="2026-11-02", metrics={"auc": 0.8, "logloss": 0.4}
        )
        assert v1.uri == f"{root}/ctr/v0001" and staged.startswith(f"{root}/ctr/_tmp-")
        assert storage.read_text(f"{v1.artifacts}/sub/weights.txt") == "one"
        assert storage.read_text(f"{v2.artifacts}/weights.txt") == "two"
        assert reg.publish("ctr", "v0001").accepted and reg.publish("ctr", "v0002").accepted
        assert reg.champion("ctr").version == "v0002" and len(reg.decisions("ctr")) == 2
        assert [c.status for c in reg.check()[0].versions] == ["ok", "ok"]
        assert reg.location == root and reg.names() == ["ctr"]
    finally:
        storage.remove_tree(root)


def test_champion_as_of_is_the_version_published_for_the_greatest_day_on_or_before(reg, tmp_path):
    def beats(champion: str, auc: float) -> dict:  # the training job measured the champion on the day
        return {"champion_eval": {"version": champion, "metrics": {"auc": auc}}}

    v1 = _register(reg, tmp_path, 0.70, ds="2026-11-01")
    assert reg.publish("ctr", v1.version).accepted
    v2 = _register(reg, tmp_path, 0.72, ds="2026-11-03", extra=beats("v0001", 0.71))
    assert reg.publish("ctr", v2.version).accepted
    v3 = _register(reg, tmp_path, 0.74, ds="2026-11-03")  # the same day again, better: it wins the day
    assert reg.publish("ctr", v3.version).accepted
    v4 = _register(reg, tmp_path, 0.60, ds="2026-11-05")  # worse: refused, never a champion
    assert not reg.publish("ctr", v4.version).accepted
    assert [d["ds"] for d in reg.decisions("ctr")] == ["2026-11-01", "2026-11-03", "2026-11-03", "2026-11-05"]
    days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-05", "2026-12-01"]
    expected = ["v0001", "v0001", "v0003", "v0003", "v0003"]
    assert [reg.champion_as_of("ctr", d).version for d in days] == expected
    assert reg.champion_as_of("ctr", "2026-12-01") == reg.champion("ctr")  # the newest day: the champion
    with pytest.raises(DataError) as e:
        reg.champion_as_of("ctr", "2026-10-31")
    assert str(e.value) == (
        "model 'ctr' had no champion on 2026-10-31: no version was published for 2026-10-31 or before "
        "(publishes: v0001 for 2026-11-01, v0002 for 2026-11-03, v0003 for 2026-11-03); pass --version"
    )
    assert reg.champion_as_of("ctr", "2026-10-31", missing_ok=True) is None
    with pytest.raises(DataError, match="no model named 'nope'"):
        reg.champion_as_of("nope", "2026-11-01")

    # decisions logged before they recorded their day count for their candidate's eval_ds
    log = tmp_path / "models" / "ctr" / "decisions.jsonl"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    log.write_text("".join(json.dumps({k: v for k, v in d.items() if k != "ds"}) + "\n" for d in lines))
    assert [reg.champion_as_of("ctr", d).version for d in days] == expected

    # a forced rollback on 2026-11-06 to v0001: the champion from that day on, not before
    assert reg.publish("ctr", v1.version, force=True, ds=dt.date(2026, 11, 6)).accepted
    assert reg.champion_as_of("ctr", "2026-11-05").version == "v0003"
    assert reg.champion_as_of("ctr", dt.date(2026, 11, 6)).version == "v0001" == reg.champion("ctr").version


def test_the_gate_refuses_a_candidate_of_an_older_day_than_the_champion(reg, tmp_path):
    reg.publish("ctr", _register(reg, tmp_path, 0.70, ds="2026-11-03").version)
    # a backfill of 2026-11-01: better on its day than the champion was, still refused
    older = _register(
        reg, tmp_path, 0.90, ds="2026-11-01", extra={"champion_eval": {"version": "v0001", "metrics": {"auc": 0.6}}}
    )
    d = reg.publish("ctr", older.version)
    assert not d.accepted and d.ds == "2026-11-01"
    assert d.reason == (
        "candidate v0002 was evaluated on 2026-11-01, before champion v0001 (2026-11-03): "
        "a model of an older day never replaces the champion"
    )
    assert reg.champion("ctr").version == "v0001"
    assert reg.champion_as_of("ctr", "2026-11-03").version == "v0001"


def test_score_uses_the_champion_of_its_day_or_before_the_first_publish_the_days_own_candidate(reg, tmp_path):
    """What ctr_daily's score task scores a backfilled day with (jobs.score.serving_version)."""
    from jobs.score import serving_version

    reg.publish("ctr", _register(reg, tmp_path, 0.70, ds="2026-11-03").version)  # v0001, published for 11-03
    own = _register(reg, tmp_path, 0.90, ds="2026-11-01")  # a backfill of 11-01: refused by the gate
    assert not reg.publish("ctr", own.version).accepted
    assert serving_version(reg, "ctr", dt.date(2026, 11, 4)).version == "v0001"
    assert serving_version(reg, "ctr", dt.date(2026, 11, 1)).version == own.version  # no champion that day yet
    with pytest.raises(DataError, match="had no champion on 2026-10-31"):  # neither a champion nor a candidate
        serving_version(reg, "ctr", dt.date(2026, 10, 31))
