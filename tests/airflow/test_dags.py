"""DAG files: they import without errors and without pyspark/torch, and wire the tasks as specified."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from tests.airflow.conftest import ROOT

HEAVY = ("pyspark", "torch", "numpy", "pandas", "pyarrow", "xgboost", "lightgbm", "faiss", "horovod")


def _dagbag(monkeypatch, overrides: str = ""):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("CTRFLOW_DAG_OVERRIDES", overrides)
    return DagBag(dag_folder=str(ROOT / "dags"))


def _edges(dag) -> dict[str, list[str]]:
    return {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}


def test_dagbag_has_no_import_errors(monkeypatch):
    bag = _dagbag(monkeypatch)
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"ctr_daily", "ann_weekly", "recs_daily"}


def test_dag_files_import_no_heavy_modules():
    code = (
        "import json, runpy, sys\n"
        f"for f in {[str(p) for p in sorted(ROOT.glob('dags/*.py'))]!r}: runpy.run_path(f)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_ctr_daily_graph(monkeypatch):
    dag = _dagbag(monkeypatch).dags["ctr_daily"]
    model = "gbdt_lr"
    per_model = {
        edge: targets
        for m in (model, "deepfm")
        for edge, targets in {
            f"{m}.gate": [f"{m}.publish", f"{m}.skip_publish"],
            f"{m}.publish": [f"{m}.score"],
            f"{m}.skip_publish": [f"{m}.score"],
            f"{m}.score": [],
        }.items()
    }
    assert _edges(dag) == {
        "wait_for_click_logs": ["ingest"],
        "ingest": ["features"],
        "features": ["train_deepfm", "train_gbdt_lr"],
        "train_gbdt_lr": ["evaluate"],
        "train_deepfm": ["evaluate"],
        "evaluate": ["deepfm.gate", f"{model}.gate"],
        **per_model,
    }
    assert dag.schedule.expression == "0 0 * * *" and str(dag.schedule.timezone) == "UTC"  # @daily
    assert dag.max_active_runs == 1 and not dag.catchup
    sensor = dag.get_task("wait_for_click_logs")
    assert sensor.mode == "reschedule" and sensor.poke_interval == 300
    ingest = dag.get_task("ingest")
    assert ingest.retries == 2 and ingest.execution_timeout == dt.timedelta(hours=4)
    assert ingest.on_failure_callback and ingest.args == ["--source", "click_logs"] and ingest.ds == "{{ ds }}"
    assert dag.get_task(f"{model}.score").trigger_rule == "none_failed_min_one_success"
    publish = dag.get_task(f"{model}.publish")
    assert publish.launcher == "python" and "--require-accept" in publish.args
    assert dag.get_task(f"{model}.gate").candidate_task_id == "train_gbdt_lr"
    assert dag.get_task("deepfm.gate").candidate_task_id == "train_deepfm"


def test_ctr_daily_trains_the_listed_deep_models_in_parallel(monkeypatch):
    dag = _dagbag(monkeypatch, "dags.ctr_daily.deep_models=[deepfm,dcn] dags.ctr_daily.fit_features=true").dags[
        "ctr_daily"
    ]
    assert sorted(dag.get_task("features").downstream_task_ids) == ["train_dcn", "train_deepfm", "train_gbdt_lr"]
    assert dag.get_task("features").args == ["--pipeline", "ctr_default", "--fit"]
    for name in ("deepfm", "dcn"):
        train = dag.get_task(f"train_{name}")
        assert train.job == "train_ctr" and train.args == ["--model", name]
        assert sorted(train.downstream_task_ids) == ["evaluate"]
        assert dag.get_task(f"{name}.gate").model == name
    assert {t.task_id for t in dag.tasks if t.task_id.endswith(".score")} == {
        "gbdt_lr.score",
        "deepfm.score",
        "dcn.score",
    }


def test_daily_runs_are_named_after_the_day_that_closed(monkeypatch):
    # a data-interval timetable: the run at midnight has ds = the day before (Airflow 3's default for a cron
    # string, a trigger timetable, would name it after the day that has just begun, whose data is not there)
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.serialization.encoders import coerce_to_core_timetable

    dag = _dagbag(monkeypatch).dags["ctr_daily"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    core = coerce_to_core_timetable(dag.timetable)
    info = core.next_dagrun_info(last_automated_data_interval=None, restriction=_restriction(dag))
    assert info.logical_date.date() == info.run_after.date() - dt.timedelta(days=1)


def _restriction(dag):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)


def test_parallel_tasks_only_on_a_shared_metastore(monkeypatch):
    # embedded Derby admits one JVM: the run's tasks go one at a time; on the jdbc metastore they overlap
    local = _dagbag(monkeypatch).dags["ctr_daily"]
    assert (local.max_active_tasks, local.max_active_runs) == (1, 1)
    shared = _dagbag(
        monkeypatch,
        "spark.profiles.local.metastore=jdbc spark.profiles.local.metastore_jdbc.url=jdbc:postgresql://h/m "
        "spark.profiles.local.metastore_jdbc.user=u dags.ctr_daily.max_active_runs=2",
    ).dags["ctr_daily"]
    assert shared.max_active_tasks > 2 and shared.max_active_runs == 2


def test_ann_weekly_graph(monkeypatch):
    dag = _dagbag(monkeypatch).dags["ann_weekly"]
    idx = "items_two_tower"  # promoted like ctr_daily's models: gate -> publish | skip_publish -> retrieve
    assert _edges(dag) == {
        "wait_for_features": ["train_two_tower"],
        "train_two_tower": ["build_index"],
        "build_index": [f"{idx}.gate"],
        f"{idx}.gate": [f"{idx}.publish", f"{idx}.skip_publish"],
        f"{idx}.publish": ["retrieve"],
        f"{idx}.skip_publish": ["retrieve"],
        "retrieve": [],
    }
    gate = dag.get_task(f"{idx}.gate")
    assert (gate.model, gate.metric, gate.candidate_task_id) == (idx, "recall_at_k", "build_index")
    assert dag.get_task("build_index").overrides[-1] == "ann.publish=false"  # the gate task publishes
    assert dag.get_task(f"{idx}.publish").args[:5] == ["--model", idx, "--require-accept", "--metric", "recall_at_k"]
    assert dag.get_task("retrieve").trigger_rule == "none_failed_min_one_success"
    assert dag.get_task("train_two_tower").args == ["--model", "two_tower"]
    # it waits for the day's features it trains on (ctr_daily builds them), not for a fixed time
    wait = dag.get_task("wait_for_features")
    assert wait.mode == "reschedule" and wait.command()[-2:] == ["--table", "feat.ctr_default"]
    assert dag.get_task("build_index").args == [
        "--embeddings",
        "out.two_tower_item_embeddings",
        "--name",
        "items_two_tower",
    ]
    assert dag.get_task("retrieve").args == [
        "--index",
        "items_two_tower",
        "--queries",
        "out.two_tower_user_embeddings",
        "--k",
        "100",
    ]


def test_recs_daily_graph(monkeypatch):
    dag = _dagbag(monkeypatch, "recs.index=idx recs.ranker=rk recs.embedding_model=tt recs.candidates=50").dags[
        "recs_daily"
    ]
    chain = ["embed_users", "retrieve", "candidate_features", "rank", "check_recs", "publish_recs"]
    assert _edges(dag) == {
        **{w: ["embed_users"] for w in ("wait_for_features", "wait_for_index", "wait_for_ranker")},
        **{a: [b] for a, b in zip(chain, chain[1:], strict=False)},
        "publish_recs": [],
    }
    # it waits for the day's features and for champions of the index and the ranker
    assert dag.get_task("wait_for_features").command()[-2:] == ["--table", "feat.recs"]
    assert dag.get_task("wait_for_index").command()[-2:] == ["--model", "idx"]
    assert dag.get_task("wait_for_ranker").command()[-2:] == ["--model", "rk"]
    assert dag.get_task("embed_users").args == ["--model", "tt", "--tower", "user"]
    assert dag.get_task("retrieve").args == ["--index", "idx", "--queries", "out.tt_user_embeddings", "--k", "50"]
    for task in chain[2:]:
        assert dag.get_task(task).args == ["--index", "idx"]


def test_a_bad_dags_setting_is_an_import_error_naming_the_key(monkeypatch):
    bag = _dagbag(monkeypatch, "dags.ctr_daily.sensor.mode=sometimes")
    assert bag.import_errors
    assert any("dags.ctr_daily.sensor.mode" in err for err in bag.import_errors.values())


@pytest.mark.parametrize("dag_id", ["ctr_daily", "ann_weekly", "recs_daily"])
def test_every_task_reads_its_partition_from_the_run(monkeypatch, dag_id):
    dag = _dagbag(monkeypatch).dags[dag_id]
    for task in dag.tasks:
        if hasattr(task, "ds"):
            assert task.ds == "{{ ds }}", task.task_id


def test_ctr_daily_trains_every_model_on_the_dags_one_pipeline(monkeypatch):
    """dags.ctr_daily.pipeline is what `features` builds and what both trainers read (as their own
    gbdt.pipeline / ctr.pipeline), whatever gbdt.yml and ctr.yml say."""
    dag = _dagbag(
        monkeypatch,
        "dags.ctr_daily.pipeline=avazu_default dags.ctr_daily.deep_models=[deepfm] "
        "gbdt.pipeline=ctr_default ctr.pipeline=ctr_default",
    ).dags["ctr_daily"]
    assert dag.get_task("features").args[:2] == ["--pipeline", "avazu_default"]
    assert dag.get_task("train_gbdt_lr").overrides[-1] == "gbdt.pipeline=avazu_default"
    assert dag.get_task("train_deepfm").overrides[-1] == "ctr.pipeline=avazu_default"
    assert dag.get_task("evaluate").pipeline == "avazu_default"
