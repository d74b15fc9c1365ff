"""The plugin rule (pipelines/core/plugins.py) and the three kinds that follow it: jobs, stages, models."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.core.plugins import DuplicatePlugin

ROOT = Path(__file__).resolve().parents[3]


def _plugin(pkg: Path, module: str, name: str) -> None:
    (pkg / f"{module}.py").write_text(f"from toys import TOYS\n\n@TOYS.register('{name}')\nclass Toy:\n    pass\n")


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package `toys` with two plugin modules, a private module and a skipped one."""
    pkg = tmp_path / "toys"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from pipelines.core.plugins import Plugins\n"
        "TOYS = Plugins('toy', __name__, skip={'helpers'}, name_attr='toy_name')\n"
    )
    _plugin(pkg, "ball", "ball")
    _plugin(pkg, "kite", "kite")
    (pkg / "_private.py").write_text("raise AssertionError('a private module is not a plugin')\n")
    (pkg / "helpers.py").write_text("raise AssertionError('a skipped module is not a plugin')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for m in [m for m in sys.modules if m == "toys" or m.startswith("toys.")]:
        del sys.modules[m]


def test_plugins_are_found_by_module_and_listed_by_name(package):
    import toys

    assert toys.TOYS.module_names() == ["ball", "kite"]
    assert toys.TOYS.names() == ["ball", "kite"]
    ball = toys.TOYS.registered["ball"]
    assert ball.__module__ == "toys.ball" and ball.toy_name == "ball"
    assert toys.TOYS.register("ball")(ball) is ball  # the same module registering again (a reload) is no duplicate
    with toys.TOYS.restoring():
        toys.TOYS.add("top", object(), "somewhere")
    assert toys.TOYS.names() == ["ball", "kite"]


def test_a_duplicate_name_is_refused_naming_both_modules(package):
    import toys

    _plugin(package, "second_ball", "ball")
    with pytest.raises(DuplicatePlugin) as e:
        toys.TOYS.load()
    assert str(e.value) == "toy 'ball' is defined twice: in toys.ball and in toys.second_ball"


def test_jobs_are_the_modules_of_jobs():
    from jobs import job_names, load_job

    files = sorted(p.stem for p in (ROOT / "jobs").glob("*.py") if not p.stem.startswith("_"))
    assert job_names() == [f for f in files if f not in ("cli", "harness")]
    assert load_job("features").__name__ == "jobs.features"


def test_a_second_stage_type_of_a_name_is_refused_naming_both_modules():
    from pipelines.features.stage_types import StageSpec, register, stages

    assert stages()["clip"].__module__ == "pipelines.features.stages.clip"

    @dataclass(frozen=True)
    class OtherClip(StageSpec):
        inputs: list[str]

    with pytest.raises(
        DuplicatePlugin,
        match=r"^stage type 'clip' is defined twice: in "
        r"pipelines\.features\.stages\.clip and in tests\.unit\.common",
    ):
        register("clip")(OtherClip)
    assert stages()["clip"].__name__ == "ClipSpec" and OtherClip.type_name == ""


def test_a_second_ctr_model_of_a_name_is_refused_naming_both_modules():
    from pipelines.ctr.models import CtrModel, model_class, model_names, register

    assert {"lr", "fm", "deepfm"} <= set(model_names())

    class OtherLR(CtrModel):
        pass

    with pytest.raises(
        DuplicatePlugin,
        match=r"^CTR model 'lr' is defined twice: in pipelines\.ctr\.models\.lr "
        r"and in tests\.unit\.common",
    ):
        register("lr")(OtherLR)
    assert model_class("lr").__name__ == "LR"
