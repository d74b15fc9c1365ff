"""Layered config: base + env overlay + --set, validated strictly with file and key path in errors."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from pipelines.common import config, schema
from pipelines.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def conf_dir(tmp_path) -> Path:
    dst = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", dst)
    return dst


def test_embedded_defaults_load_and_validate():
    loaded = config.load("local")
    s = loaded.settings
    assert s.spark.profile == "local"
    assert s.spark.active.master == "local[*]"
    assert s.project.databases.stg == "stg"
    assert len(loaded.config_hash) == 12


def test_every_env_overlay_validates():
    for env in config.available_envs(ROOT / "conf"):
        config.load(env)
    assert config.load("cluster").settings.spark.active.master is None


def test_env_overlay_overrides_only_its_keys(conf_dir):
    (conf_dir / "local" / "synth.yml").write_text("rows_per_day: 123\n")
    s = config.load("local", root=conf_dir).settings
    assert s.synth.rows_per_day == 123
    assert s.synth.seed == 7  # from base


def test_set_overrides_win_and_parse_yaml_scalars(conf_dir):
    s = config.load(
        "local",
        root=conf_dir,
        overrides=[
            "synth.rows_per_day=77",
            "synth.write_tsv=false",
            "synth.positive_rate=0.05",
            "spark.profiles.local.conf.spark.sql.shuffle.partitions=3",
        ],
    ).settings
    assert (s.synth.rows_per_day, s.synth.write_tsv, s.synth.positive_rate) == (77, False, 0.05)
    # Spark conf keys contain dots: the rest of the path after `conf` is one key
    assert s.spark.profiles["local"].conf["spark.sql.shuffle.partitions"] == 3


def test_misspelt_key_in_a_file_names_the_file_and_key(conf_dir):
    (conf_dir / "base" / "synth.yml").write_text("seed: 1\nrows_per_dya: 10\n")
    with pytest.raises(ConfigError) as e:
        config.load("local", root=conf_dir)
    msg = str(e.value)
    assert str(conf_dir / "base" / "synth.yml") in msg
    assert "synth.rows_per_dya" in msg and "did you mean 'rows_per_day'" in msg


def test_misspelt_key_in_an_overlay_names_the_overlay(conf_dir):
    (conf_dir / "local" / "spark.yml").write_text("profiles:\n  local:\n    mastr: local[1]\n")
    with pytest.raises(ConfigError, match=r"conf/local/spark\.yml: spark\.profiles\.local\.mastr: unknown key"):
        config.load("local", root=conf_dir)


def test_wrong_type_names_the_key(conf_dir):
    with pytest.raises(ConfigError, match=r"--set synth.rows_per_day: synth.rows_per_day: expected an integer"):
        config.load("local", root=conf_dir, overrides=["synth.rows_per_day=lots"])
    with pytest.raises(ConfigError, match=r"synth.write_tsv: expected true or false, got 'yes please'"):
        config.load("local", root=conf_dir, overrides=["synth.write_tsv=yes please"])


def test_missing_required_value_names_the_file(conf_dir):
    (conf_dir / "base" / "spark.yml").write_text("profiles: {}\n")
    with pytest.raises(ConfigError, match=r"base/spark\.yml: spark\.profile: missing required key"):
        config.load("local", root=conf_dir)


def test_cross_field_check(conf_dir):
    with pytest.raises(ConfigError, match="profile 'nosuch' is not one of the defined profiles"):
        config.load("local", root=conf_dir, overrides=["spark.profile=nosuch"])
    with pytest.raises(ConfigError, match=r"synth: cardinalities and cat_missing need 26 entries"):
        config.load("local", root=conf_dir, overrides=["synth.cardinalities=[1, 2]"])


def test_unknown_section_file_unknown_env_and_bad_set(conf_dir):
    (conf_dir / "base" / "sparks.yml").write_text("a: 1\n")
    with pytest.raises(ConfigError, match=r"sparks\.yml: unknown config section 'sparks'"):
        config.load("local", root=conf_dir)
    (conf_dir / "base" / "sparks.yml").unlink()
    with pytest.raises(ConfigError, match=r"--env prod: no directory .*known: cluster, local"):
        config.load("prod", root=conf_dir)
    with pytest.raises(ConfigError, match=r"--set 'synth': expected key.path=value"):
        config.load("local", root=conf_dir, overrides=["synth"])
    with pytest.raises(ConfigError, match=r"--set sinth.seed: unknown config section 'sinth'"):
        config.load("local", root=conf_dir, overrides=["sinth.seed=1"])


def test_invalid_yaml_names_the_file(conf_dir):
    (conf_dir / "base" / "synth.yml").write_text("seed: [1\n")
    with pytest.raises(ConfigError, match=r"synth\.yml: invalid YAML"):
        config.load("local", root=conf_dir)


@dataclass(frozen=True)
class _Inner:
    kind: Literal["a", "b"]
    weights: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Outer:
    name: str
    inner: dict[str, _Inner]
    limit: int | None = None


def test_schema_nested_types_and_round_trip():
    data = {"name": "x", "inner": {"p": {"kind": "a", "weights": [1, 2.5]}}, "limit": None}
    obj = schema.build(_Outer, data)
    assert obj.inner["p"].weights == [1.0, 2.5]
    assert schema.to_plain(obj) == {"name": "x", "inner": {"p": {"kind": "a", "weights": [1.0, 2.5]}}, "limit": None}
    with pytest.raises(ConfigError, match=r"inner\.p\.kind: must be one of 'a', 'b', got 'c'"):
        schema.build(_Outer, {"name": "x", "inner": {"p": {"kind": "c"}}})
    with pytest.raises(ConfigError, match=r"inner\.p\.weights\[1\]: expected a number"):
        schema.build(_Outer, {"name": "x", "inner": {"p": {"kind": "a", "weights": [1, "w"]}}})
    with pytest.raises(ConfigError, match=r"limit: expected int \| None, got True"):
        schema.build(_Outer, {"name": "x", "inner": {}, "limit": True})


def test_load_named_documents(conf_dir):
    (conf_dir / "base" / "widgets").mkdir()
    (conf_dir / "base" / "widgets" / "w1.yml").write_text("kind: a\nweights: [1]\n")
    (conf_dir / "local" / "widgets").mkdir()
    (conf_dir / "local" / "widgets" / "w1.yml").write_text("kind: b\n")
    assert config.load_named("widgets", "w1", _Inner, root=conf_dir) == _Inner(kind="b", weights=[1.0])
    with pytest.raises(ConfigError, match=r"no widgets named 'w2' .*known: w1"):
        config.load_named("widgets", "w2", _Inner, root=conf_dir)
    (conf_dir / "local" / "widgets" / "w1.yml").write_text("knd: b\n")
    with pytest.raises(ConfigError, match=r"local/widgets/w1\.yml: knd: unknown key \(did you mean 'kind'\?\)"):
        config.load_named("widgets", "w1", _Inner, root=conf_dir)


_PIPE = """source: src
label: click
stages:
  - {name: cats, type: index, params: {inputs: [c1, c2], min_count: 2}}
  - {name: nums, type: log, params: {inputs: [i1]}}
"""


def test_set_reaches_a_feature_pipeline_and_its_stages_by_name(conf_dir):
    from pipelines.features.builder import load_spec

    (conf_dir / "base" / "features" / "t.yml").write_text(_PIPE)
    sets = [
        "features.t.train_days=3",
        "features.t.source=other_logs",
        "features.t.keep=[id]",
        "features.t.stages.cats.params.min_count=10",
        "synth.seed=3",
    ]
    loaded = config.load("local", root=conf_dir, overrides=sets)
    assert loaded.settings.synth.seed == 3
    assert loaded.named_overrides("features", "t") == (
        "train_days=3",
        "source=other_logs",
        "keep=[id]",
        "stages.cats.params.min_count=10",
    )
    assert loaded.named_overrides("features", "ctr_default") == ()
    spec = load_spec("t", root=conf_dir, overrides=loaded.named_overrides("features", "t"))
    assert (spec.train_days, spec.source, spec.keep, spec.label) == (3, "other_logs", ["id"], "click")
    assert spec.stages[0].params == {"inputs": ["c1", "c2"], "min_count": 10}
    assert spec.stages[1].params == {"inputs": ["i1"]}
    # the overrides are part of the run's config hash
    plain = config.load("local", root=conf_dir, overrides=["synth.seed=3"])
    other = config.load("local", root=conf_dir, overrides=["synth.seed=3", "features.t.train_days=2"])
    assert len({loaded.config_hash, plain.config_hash, other.config_hash}) == 3


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("features.nope.train_days=2", r"--set features.nope.train_days: no features named 'nope' in .*\(known: .*t"),
        (
            "features.t.trian_days=2",
            r"--set features.t.trian_days: trian_days: unknown key \(did you mean 'train_days'\?\)",
        ),
        ("features.t.train_days=two", r"--set features.t.train_days: train_days: expected an integer"),
        (
            "features.t.stages.catz.params.min_count=3",
            r"--set features.t.stages.catz.params.min_count: stages has no entry named 'catz' "
            r"\(did you mean 'cats'\?\)",
        ),
        (
            "features.t.stages.cats.params.min_cuont=3",
            r"--set features.t.stages: stage 'cats': params.min_cuont: unknown param of stage type 'index' "
            r"\(did you mean 'min_count'\?\)",
        ),
        (
            "features.t.stages.cats.params.min_count=many",
            r"--set features.t.stages: stage 'cats': params.min_count: "
            r"expected an integer",
        ),
        ("features.t.label.name=x", r"--set features.t.label.name: 'label' is a value, not a section"),
        ("features.t=1", r"--set features.t: expected features.<name>.<key>=value"),
        ("models.nosuch.seed=1", r"--set models.nosuch.seed: no models named 'nosuch'"),
    ],
)
def test_a_bad_feature_pipeline_override_is_a_one_line_error(conf_dir, item, message):
    (conf_dir / "base" / "features" / "t.yml").write_text(_PIPE)
    with pytest.raises(ConfigError, match=message) as e:
        config.load("local", root=conf_dir, overrides=[item])
    assert "\n" not in str(e.value)


def test_set_reaches_a_model_config(conf_dir):
    from pipelines.ctr.models import load_config

    loaded = config.load("local", root=conf_dir, overrides=["models.lr.learning_rate=0.3"])
    sets = loaded.named_overrides("models", "lr")
    assert sets == ("learning_rate=0.3",)
    assert load_config("lr", root=conf_dir, overrides=sets).learning_rate == 0.3
    with pytest.raises(ConfigError, match=r"--set models.lr.learning_rat: learning_rat: unknown key"):
        config.load("local", root=conf_dir, overrides=["models.lr.learning_rat=0.3"])
