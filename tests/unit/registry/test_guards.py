"""The gate's guards: NE floor and calibration range refuse a candidate, first model or not, with a reason
that names the model, version, metric, value and bound; the range is configurable and validated."""

from __future__ import annotations

import math
import uuid

import pytest

from pipelines.common import config
from pipelines.core.errors import ConfigError
from pipelines.registry.store import Registry
from pipelines.settings.registry import GateSettings


def _register(reg, tmp_path, **metrics):
    art = tmp_path / f"art-{uuid.uuid4().hex[:8]}"
    (art / "sub").mkdir(parents=True)  # pyarrow's copy_files wants the tree to exist below the root
    (art / "sub" / "w.txt").write_text("w")
    return reg.register(
        "ctr",
        str(art),
        kind="gbdt_lr",
        flavor="spark_pipeline",
        eval_ds="2026-11-02",
        metrics={"auc": 0.7, "ne": 0.9, "calibration": 1.0, **metrics},
    )


@pytest.fixture
def reg(tmp_path):
    return Registry(str(tmp_path / "models"))  # the shipped gate: floors auc 0.5, ne 1; calibration [0.8, 1.25]


@pytest.mark.parametrize("ne", [1.0, 1.089])
def test_ne_at_or_above_one_is_refused_with_the_reason(reg, tmp_path, ne):
    v = _register(reg, tmp_path, ne=ne)
    d = reg.publish("ctr", v.version)
    assert not d.accepted and reg.champion("ctr") is None
    assert d.reason.startswith(f"ctr {v.version} (evaluated on 2026-11-02) fails the floor on ne: {ne:g}")
    assert "needs below 1" in d.reason and "registry.gate.floors" in d.reason


@pytest.mark.parametrize(
    ("calibration", "bound"),
    [(0.5, "within [0.8, 1.25]"), (1.5, "within [0.8, 1.25]"), (0.006, "within [0.8, 1.25]"), (math.nan, "within")],
)
def test_calibration_outside_the_range_is_refused_with_the_reason(reg, tmp_path, calibration, bound):
    v = _register(reg, tmp_path, calibration=calibration)
    d = reg.publish("ctr", v.version)
    assert not d.accepted and reg.champion("ctr") is None
    assert f"ctr {v.version}" in d.reason and f"calibration: {calibration:.6g}" in d.reason
    assert bound in d.reason and "registry.gate.calibration_range" in d.reason
    assert reg.decisions("ctr")[-1]["reason"] == d.reason


def test_every_failed_guard_is_named_and_a_calibrated_model_passes(reg, tmp_path):
    both = _register(reg, tmp_path, ne=1.2, calibration=3.0)
    reason = reg.evaluate_gate("ctr", both.version).reason
    assert "floor on ne: 1.2" in reason and "calibration range on calibration: 3" in reason
    for inside in (0.8, 1.0, 1.25):
        assert reg.evaluate_gate("ctr", _register(reg, tmp_path, calibration=inside).version).accepted
    # a champion exists: a better-ranking but miscalibrated candidate is still refused by the guard
    reg.publish("ctr", _register(reg, tmp_path, auc=0.7).version)
    d = reg.evaluate_gate("ctr", _register(reg, tmp_path, auc=0.9, calibration=0.7).version)
    assert not d.accepted and "calibration range" in d.reason


def test_the_range_is_configurable_and_null_turns_it_off(tmp_path):
    wide = Registry(str(tmp_path / "m"), GateSettings(calibration_range=[0.4, 2.0]))
    assert wide.evaluate_gate("ctr", _register(wide, tmp_path, calibration=0.5).version).accepted
    assert not wide.evaluate_gate("ctr", _register(wide, tmp_path, calibration=0.3).version).accepted
    off = Registry(str(tmp_path / "m"), GateSettings(calibration_range=None))
    assert off.evaluate_gate("ctr", _register(off, tmp_path, calibration=0.01).version).accepted
    # a metric a version does not carry (an ANN index) is not checked
    art = tmp_path / "idx"
    (art / "sub").mkdir(parents=True)
    (art / "sub" / "i.txt").write_text("i")
    idx = off.register(
        "idx", str(art), kind="faiss_index", flavor="faiss", eval_ds="2026-11-02", metrics={"recall_at_k": 0.9}
    )
    assert Registry(str(tmp_path / "m")).evaluate_gate("idx", idx.version, metric="recall_at_k").accepted


@pytest.mark.parametrize("bad", ["[1.0, 1.25]", "[0.8, 1.0]", "[1.25, 0.8]", "[0.8]", "[0.8, .inf]", "[0.8, .nan]"])
def test_the_range_is_validated_when_the_config_loads(bad):
    # a non-finite bound is refused as a float key (every float key is finite), the rest by the range's rule
    finite = r"registry.gate.calibration_range\[1\]: expected a finite number"
    rule = r"registry.gate: calibration_range must be \[low, high\] with finite low < 1 < high"
    expected = finite if bad in ("[0.8, .inf]", "[0.8, .nan]") else rule
    with pytest.raises(ConfigError, match=expected):
        config.load("local", overrides=[f"registry.gate.calibration_range={bad}"])
    assert (
        config.load(
            "local", overrides=["registry.gate.calibration_range=null"]
        ).settings.registry.gate.calibration_range
        is None
    )
    assert config.load("local").settings.registry.gate.calibration_range == [0.8, 1.25]


@pytest.mark.parametrize("name", ["../x", "a-b", "a.b", "", "a b"])
def test_model_names_follow_the_one_identifier_rule(tmp_path, name):
    reg = Registry(str(tmp_path / "models"), GateSettings(metric="auc"))
    for call in (
        lambda: reg.stage(name),
        lambda: reg.get(name),
        lambda: reg.versions(name),
        lambda: reg.champion(name),
    ):
        with pytest.raises(ConfigError, match="model name: .* is not a valid name"):
            call()
    assert not (tmp_path / "x").exists()


def test_a_version_registered_as_not_offered_is_refused_by_the_gate(tmp_path):
    """An index below its recall target is registered to look at, with extra.not_offered; the gate refuses
    it (whatever its metric), so a DAG's gate task never promotes it."""
    reg = Registry(str(tmp_path / "models"), GateSettings(metric="recall_at_k"))
    art = tmp_path / f"art-{uuid.uuid4().hex[:8]}"
    (art / "sub").mkdir(parents=True)
    (art / "sub" / "w.txt").write_text("w")
    mv = reg.register(
        "idx",
        str(art),
        kind="faiss_index",
        flavor="faiss",
        eval_ds="2026-11-02",
        metrics={"recall_at_k": 0.9},
        extra={"not_offered": "recall@10=0.9000 below target 0.95"},
    )
    decision = reg.evaluate_gate("idx", mv.version)
    assert not decision.accepted
    assert decision.reason == "v0001 was not offered to the gate: recall@10=0.9000 below target 0.95"
