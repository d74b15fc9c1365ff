"""Pipeline validation: every problem reported at once with its stage and key; the default pipeline is valid."""

from __future__ import annotations

import pytest

from pipelines.common import schema
from pipelines.common.config import load_named
from pipelines.core.errors import ConfigError
from pipelines.features.builder import PipelineSpec, validate
from pipelines.features.stage_types import expand, stages

SOURCE = {
    "label": "int",
    "ds": "string",
    **{f"i{i}": "int" for i in range(1, 14)},
    **{f"c{i}": "string" for i in range(1, 27)},
}


def _spec(*stage_list, **kw) -> PipelineSpec:
    return schema.build(PipelineSpec, {"source": "click_logs", "stages": list(stage_list), **kw})


def _problems(spec) -> str:
    with pytest.raises(ConfigError) as e:
        validate(spec, SOURCE, name="t")
    return str(e.value)


def test_default_pipeline_is_valid_and_lists_its_features():
    spec = load_named("features", "ctr_default", PipelineSpec)
    plan = validate(spec, SOURCE, name="ctr_default")
    assert "i1_num" in plan.features and "i13_bkt" in plan.features and "c26_idx" in plan.features
    assert "i1_log" not in plan.features  # read by a later stage: an intermediate
    assert plan.columns["c3_hash"].column.kind == "categorical"
    assert plan.columns["c4_te"].column.kind == "numeric"
    assert len(plan.build().getStages()) == len(spec.stages)


def test_every_problem_is_reported_with_stage_and_key():
    spec = _spec(
        {"name": "imp", "type": "impute", "params": {"inputs": ["i1", "i99"]}},  # missing column
        {"name": "bad_type", "type": "log", "params": {"inputs": ["c1"]}},  # string into a numeric stage
        {"name": "dup", "type": "log", "params": {"inputs": ["i2"], "outputs": ["i1_imp"]}},  # duplicate output
        {"name": "what", "type": "bucketise", "params": {"inputs": ["i3"]}},  # unknown stage type
        {"name": "typo", "type": "index", "params": {"inputs": ["c2"], "min_cuont": 3}},  # misspelt param
        {"name": "neg", "type": "bucketize", "params": {"inputs": ["i4"], "num_buckets": "ten"}},  # bad value
    )
    msg = _problems(spec)
    assert "6 problem(s)" in msg
    assert "stage 'imp': params.inputs: column 'i99' does not exist" in msg
    assert "stage 'bad_type': params.inputs: column 'c1' is string; stage type 'log' accepts numeric" in msg
    assert "stage 'dup': output 'i1_imp' already exists (written by stage 'imp')" in msg
    assert "stage 'what': type: unknown stage type 'bucketise' (did you mean 'bucketize'?)" in msg
    assert "stage 'typo': params.min_cuont: unknown param of stage type 'index' (did you mean 'min_count'?)" in msg
    assert "stage 'neg': params.num_buckets: expected an integer" in msg


def test_label_features_and_stage_names_are_checked():
    spec = _spec(
        {"name": "a", "type": "log", "params": {"inputs": ["i1"]}},
        {"name": "a", "type": "cross", "params": {"inputs": ["c1", "c2"], "output": "x"}},
        label="clicked",
        features=["i1_log", "nope", "c1"],
    )
    msg = _problems(spec)
    assert "label: column 'clicked' is not in the source table" in msg
    assert "stage 'a': name: two stages are named 'a'" in msg
    assert "features: column 'nope' is written by no stage" in msg
    assert "features: column 'c1' is a raw source column" in msg


def test_param_checks_of_a_spec_name_the_stage():
    msg = _problems(_spec({"name": "x", "type": "cross", "params": {"inputs": ["c1"]}}))
    assert "stage 'x'" in msg and "two or more columns" in msg


def test_registry_and_brace_ranges():
    assert {"impute", "log", "clip", "bucketize", "index", "hash", "cross", "count_encode", "target_encode"} <= set(
        stages()
    )
    assert expand(["i{1..3}_x", "c"]) == ["i1_x", "i2_x", "i3_x", "c"]


def test_keep_names_raw_source_columns_and_an_unknown_one_is_named():
    stage = {"name": "cat", "type": "index", "params": {"inputs": ["c1"]}}
    source = {**SOURCE, "id": "string", "click": "int"}
    plan = validate(_spec(stage, label="click", keep=["id", "i1"]), source, name="t")
    assert plan.spec.keep == ["id", "i1"] and plan.features == ["c1_idx"]  # kept columns are not features
    with pytest.raises(ConfigError) as e:
        validate(_spec(stage, label="click", keep=["idd", "click", "ds"]), source, name="t")
    msg = str(e.value)
    assert "features pipeline 't' on source 'click_logs': 3 problem(s)" in msg
    assert "keep: column 'idd' is not in the source table (did you mean 'id'?)" in msg
    assert "keep: column 'click' is the label" in msg and "keep: column 'ds' is the partition column" in msg
    with pytest.raises(ConfigError, match="keep: a column is listed twice"):
        _spec(stage, keep=["id", "id"])
    # an empty keep leaves the hash as it was before `keep` existed (fitted versions still load)
    import hashlib
    import json

    before = {k: v for k, v in schema.to_plain(_spec(stage)).items() if k != "keep"}
    assert _spec(stage).config_hash == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:12]
    assert _spec(stage).config_hash != _spec(stage, keep=["id"]).config_hash
