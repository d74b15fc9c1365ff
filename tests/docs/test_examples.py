"""The how-to examples of docs/: each page shows its example file as it is, and the examples work."""

from __future__ import annotations

import importlib
import re
import sys
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from tests.airflow.conftest import ROOT  # sets up AIRFLOW_HOME before Airflow is imported

PAGES = ["adding-an-operator.md", "adding-a-dag.md", "adding-a-stage.md", "adding-a-model.md"]


@pytest.mark.parametrize("page", PAGES)
def test_pages_show_their_example_files_verbatim(page):
    text = (ROOT / "docs" / page).read_text()
    blocks = re.findall(r"<!-- example: (\S+) -->\n```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{page} names no example"
    for path, code in blocks:
        assert code == (ROOT / path).read_text(), f"{page} shows an outdated copy of {path}"


def test_champion_check_operator_on_a_real_registry(tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    from docs.examples.champion_check_operator import ChampionCheckOperator
    from pipelines.common.config import load
    from pipelines.registry.store import Registry

    sets = [f"project.state_dir={tmp_path}"]
    op = ChampionCheckOperator(task_id="has_champion", model="{{ params.model }}", overrides=sets)
    context = {"params": {"model": "ctr"}, "dag_run": SimpleNamespace(conf={})}
    op.render_template_fields(context)
    assert op.model == "ctr"
    with pytest.raises(AirflowFailException, match="model ctr has no champion"):
        op.execute(context)
    reg = Registry.from_settings(load("local", sets).settings)
    v = reg.register(
        "ctr",
        kind="gbdt_lr",
        flavor="spark_pipeline",
        eval_ds="2026-11-03",
        metrics={"auc": 0.71},
        staged=reg.stage("ctr"),
    )
    reg.publish("ctr", v.version)
    assert op.execute(context) == {"model": "ctr", "version": "v0001", "metrics": {"auc": 0.71}}


def test_ingest_day_dag_loads_with_its_graph():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "docs" / "examples" / "ingest_day_dag.py"))
    assert bag.import_errors == {}
    dag = bag.dags["ingest_day"]
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "wait_for_click_logs": ["ingest"],
        "ingest": ["features"],
        "features": [],
    }
    assert dag.get_task("ingest").retries == 2


@contextmanager
def registered_example(plugins, module: str):
    """Import an example that registers a plugin; the registration is dropped afterwards (other tests list
    the real plugins)."""
    with plugins.restoring():
        sys.modules.pop(module, None)
        try:
            yield importlib.import_module(module)
        finally:
            sys.modules.pop(module, None)


def _yaml_block(page: str, first_line: str) -> dict:
    import yaml

    text = (ROOT / "docs" / page).read_text()
    block = re.search(r"```yaml\n(" + re.escape(first_line) + r".*?)```", text, flags=re.S)
    assert block, f"{page} shows no YAML starting with {first_line}"
    return yaml.safe_load(block.group(1))


def test_sign_stage_through_the_real_registry(spark, tmp_path):
    from pyspark.ml import PipelineModel

    from pipelines.common import schema
    from pipelines.core.errors import ConfigError
    from pipelines.features import stage_types
    from pipelines.features.builder import PipelineSpec, validate
    from pipelines.features.feature_map import build_feature_map

    with registered_example(stage_types._STAGES, "docs.examples.sign_stage") as example:
        assert stage_types.stages()["sign"] is example.SignSpec and "clip" in stage_types.stages()
        spec = schema.build(PipelineSpec, _yaml_block("adding-a-stage.md", "# conf/base/features/"))
        plan = validate(spec, {"label": "int", "x": "double", "n": "int"}, name="signs")
        assert plan.features == ["x_sign", "n_signed"]
        assert plan.columns["x_sign"].column == stage_types.OutputColumn("x_sign", "int", "categorical")
        assert plan.columns["x_sign"].reserved == {"missing": 0}

        df = spark.createDataFrame(
            [(0, -2.5, 3), (1, 0.0, None), (0, float("nan"), -1), (1, None, 0)], "label int, x double, n int"
        )
        model = plan.build().fit(df)
        model.write().overwrite().save(str(tmp_path / "model"))
        out = PipelineModel.load(str(tmp_path / "model")).transform(df)
        assert [(r.x_sign, r.n_signed) for r in out.collect()] == [(1, 3), (2, 0), (0, 1), (0, 2)]
        fm = build_feature_map(plan, model, "t0001", "feat.signs")
        assert [(f.name, f.vocab_size, f.offset) for f in fm.fields] == [("x_sign", 4, 0), ("n_signed", 4, 4)]

        wrong = schema.build(
            PipelineSpec,
            {
                "source": "s",
                "stages": [{"name": "sgn", "type": "sign", "params": {"inputs": ["x", "n"], "outputs": ["a"]}}],
            },
        )
        with pytest.raises(ConfigError, match="stage 'sgn'.*outputs: 1 names for 2 inputs"):
            validate(wrong, {"label": "int", "x": "double", "n": "int"})
    assert "sign" not in stage_types.stages()


def test_mean_mlp_model_through_the_real_registry(tmp_path):
    import torch

    from pipelines.common import schema
    from pipelines.ctr import models
    from tests.unit.ctr import tiny

    with registered_example(models._MODELS, "docs.examples.mean_mlp_model") as example:
        assert models.model_class("mean_mlp") is example.MeanMLP and "deepfm" in models.model_names()
        doc = _yaml_block("adding-a-model.md", "# conf/base/models/mean_mlp.yml")
        cfg = schema.build(example.MeanMLPConfig, doc)
        test_cfg = models.apply_variant("mean_mlp", cfg, "test")
        assert test_cfg.hidden_units == [8] and cfg.hidden_units == [32, 16]

        model = models.build_model("mean_mlp", tiny.spec(), test_cfg, base_rate=0.2)
        cat, num, y = tiny.tensors(256, seed=3)
        assert model.predict(cat, num).mean().item() == pytest.approx(0.2, abs=0.02)  # starts at the base rate
        opt = model.make_optimizer()
        model.train()
        loss = model.loss(cat, num, y)
        loss.backward()
        opt.step()
        assert torch.isfinite(loss) and model.loss(cat, num, y).item() < loss.item()

        models.save_model(model, str(tmp_path / "m"))
        loaded = models.load_model(str(tmp_path / "m"))
        assert type(loaded) is example.MeanMLP
        assert torch.equal(loaded.predict(cat, num), model.eval().predict(cat, num))
    assert "mean_mlp" not in models.model_names()
