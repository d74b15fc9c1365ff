"""The how-to examples of docs/: each page shows its example file as it is, and the examples work."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tests.airflow.conftest import ROOT  # sets up AIRFLOW_HOME before Airflow is imported

PAGES = ["adding-an-operator.md", "adding-a-dag.md"]


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
    v = reg.register("ctr", kind="gbdt_lr", flavor="spark_pipeline", eval_ds="2026-11-03", metrics={"auc": 0.71},
                     staged=reg.stage("ctr"))
    reg.publish("ctr", v.version)
    assert op.execute(context) == {"model": "ctr", "version": "v0001", "metrics": {"auc": 0.71}}


def test_ingest_day_dag_loads_with_its_graph():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "docs" / "examples" / "ingest_day_dag.py"))
    assert bag.import_errors == {}
    dag = bag.dags["ingest_day"]
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "wait_for_click_logs": ["ingest"], "ingest": ["features"], "features": []}
    assert dag.get_task("ingest").retries == 2
