"""Operators without Spark: the job command for given args and templates, run conf overrides, masking,
the hook's result / error handling and kill, the quality thresholds, the gate on a real registry."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from operators.callbacks import failure_summary
from operators.data_quality import quality_problems
from operators.gate import ModelGateOperator
from operators.hooks.spark_job import (
    SparkJobHook,
    check_command,
    default_spark_submit,
    job_command,
    mask_command,
    sensitive_values,
    spark_env,
)
from operators.sensors import SourcePartitionSensor
from operators.spark_job import SparkJobOperator
from pipelines.common.config import PROJECT_ROOT, load

DS = "2026-11-03"


@pytest.fixture
def sets(tmp_path) -> list[str]:
    return [f"project.state_dir={tmp_path}", "spark.profiles.local.master=local[2]"]


def _run(conf: dict | None = None):
    return {"dag_run": SimpleNamespace(conf=conf or {})}


def test_job_command_is_spark_submit_of_the_job_with_profile_and_args(sets, tmp_path):
    settings = load("local", sets).settings
    cmd = job_command(
        settings,
        "ingest",
        DS,
        env="local",
        args=["--source", "click_logs"],
        overrides=sets,
        spark_submit="spark-submit",
    )
    assert cmd[:3] == ["spark-submit", "--master", "local[2]"]
    app = cmd.index(str(PROJECT_ROOT / "jobs" / "ingest.py"))
    assert cmd[app + 1 :] == [
        "--ds",
        DS,
        "--env",
        "local",
        "--set",
        sets[0],
        "--set",
        sets[1],
        "--source",
        "click_logs",
    ]
    confs = dict(c.split("=", 1) for c in cmd[:app] if "=" in c and c.startswith("spark."))
    assert confs["spark.sql.warehouse.dir"] == f"{tmp_path}/warehouse"
    assert confs["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert "--jars" in cmd and cmd[cmd.index("--jars") + 1].endswith(".jar")


def test_connection_master_wins_and_python_launcher(sets):
    settings = load("local", sets).settings
    cmd = job_command(
        settings,
        "score",
        DS,
        env="local",
        args=["--model", "gbdt_lr"],
        spark_submit="spark-submit",
        master="spark://master:7077",
        deploy_mode="client",
        queue="ml",
    )
    assert cmd[cmd.index("--master") + 1] == "spark://master:7077"
    assert "spark.submit.deployMode=client" in cmd and "spark.yarn.queue=ml" in cmd
    py = job_command(settings, "publish", DS, env="local", args=["--model", "m"], launcher="python")
    assert py == [sys.executable, "-m", "jobs", "publish", "--ds", DS, "--env", "local", "--model", "m"]


def test_operator_renders_templates_and_adds_run_conf_overrides(sets):
    with DAG("t_render", schedule=None, user_defined_macros={"source": "click_logs"}):
        op = SparkJobOperator(
            task_id="ingest",
            job="ingest",
            args=["--source", "{{ source }}"],
            overrides=sets,
            spark_submit="spark-submit",
        )
    assert op.ds == "{{ ds }}"  # stored unchanged until rendered
    context = {"ds": DS, **_run({"overrides": ["synth.seed=3"]})}
    op.render_template_fields(context)
    cmd = op.command(context)
    assert cmd[cmd.index("--master") + 1] == "local[2]"  # the operator's override reached the profile
    tail = cmd[cmd.index(str(PROJECT_ROOT / "jobs" / "ingest.py")) + 1 :]
    assert tail == [
        "--ds",
        DS,
        "--env",
        "local",
        "--set",
        sets[0],
        "--set",
        sets[1],
        "--set",
        "synth.seed=3",
        "--source",
        "click_logs",
    ]


def test_run_conf_must_be_a_list_of_overrides(sets):
    op = SparkJobOperator(task_id="x", job="ingest", ds=DS)
    with pytest.raises(Exception, match="overrides"):
        op.command(_run({"overrides": "synth.seed=3"}))


def test_secrets_are_masked():
    cmd = [
        "spark-submit",
        "--conf",
        "spark.hadoop.fs.s3a.secret.key=s3cr3t",
        "jobs/x.py",
        "--set",
        "registry.db_password=hunter2",
        "--ds",
        DS,
    ]
    line = mask_command(cmd)
    assert "s3cr3t" not in line and "hunter2" not in line and DS in line
    assert sensitive_values(cmd) == ["s3cr3t", "hunter2"]


def _hook_run(cmd: list[str]):
    hook = SparkJobHook()
    return hook, hook.run(cmd)


def test_hook_returns_the_job_result_line():
    line = '12:00:00 INFO ctrflow: result {"rows": 3, "table": "stg.click_logs"}'
    _, result = _hook_run([sys.executable, "-c", f"print({line!r})"])
    assert result == {"rows": 3, "table": "stg.click_logs"}


@pytest.mark.parametrize(("code", "exc"), [(1, AirflowException), (2, AirflowFailException), (3, AirflowFailException)])
def test_hook_raises_the_jobs_error_line_and_does_not_retry_config_errors_or_gate_refusals(code, exc):
    script = f"import sys; print('ctrflow ingest: error: no partition ds=x', file=sys.stderr); sys.exit({code})"
    with pytest.raises(exc, match=rf"ctrflow ingest: error: no partition ds=x \(exit {code}\)") as info:
        _hook_run([sys.executable, "-c", script])
    assert isinstance(info.value, AirflowFailException) == (code in (2, 3))


def test_a_job_at_warning_level_still_hands_its_result_and_its_error_to_the_hook(tmp_path):
    """The result and error lines (pipelines.core.protocol) are printed whatever --log-level says: a real
    job (publish, no Spark) run by the hook at WARNING level returns its result, and fails with its line."""
    import uuid

    from pipelines.registry.store import Registry

    state = tmp_path / "state"
    reg = Registry.from_settings(load("local", [f"project.state_dir={state}"]).settings)
    art = tmp_path / f"art-{uuid.uuid4().hex[:8]}" / "model"
    art.mkdir(parents=True)
    (art / "metadata").write_text("{}")
    reg.register(
        "ctr",
        str(art.parent),
        kind="gbdt_lr",
        flavor="spark_pipeline",
        eval_ds=DS,
        metrics={"auc": 0.7, "logloss": 0.4},
    )
    cmd = [
        sys.executable,
        "-m",
        "jobs",
        "publish",
        "--ds",
        DS,
        "--model",
        "ctr",
        "--log-level",
        "WARNING",
        "--set",
        f"project.state_dir={state}",
    ]
    hook, result = _hook_run(cmd)
    assert result["champion_now"] == "v0001" and result["accepted"] is True, result
    with pytest.raises(AirflowFailException, match=r"^ctrflow publish: error: .*not-a-model.* \(exit 2\)$"):
        _hook_run([*cmd[:7], "not-a-model", *cmd[8:]])


def test_the_virtualenvs_spark_submit_runs_without_the_virtualenv_on_path(monkeypatch):
    """Airflow started as .venv/bin/airflow (not activated): the pip-installed spark-submit would look
    for pyspark with PATH's python3; the hook gives it this interpreter's pyspark as SPARK_HOME."""
    import pyspark

    binary = default_spark_submit()
    assert spark_env(binary, {}) == {"SPARK_HOME": str(Path(pyspark.__file__).parent)}
    assert spark_env(binary, {"SPARK_HOME": "/opt/spark"}) == {}
    assert spark_env("/usr/local/bin/spark-submit", {}) == {}
    monkeypatch.delenv("SPARK_HOME", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    hook = SparkJobHook()
    hook.run([binary, "--version"])
    assert hook._submit_sp.returncode == 0


def test_on_kill_ends_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {pidfile}; wait"
    hook = SparkJobHook(kill_grace_s=2)
    errors: list[BaseException] = []
    t = threading.Thread(target=lambda: _catch(errors, hook.run, ["bash", "-c", script]))
    t.start()
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.1)
    child = int(pidfile.read_text())
    hook.on_kill()
    t.join(timeout=20)
    assert not t.is_alive()
    assert errors and isinstance(errors[0], AirflowException)
    assert not _alive(child), "the job's child process survived the kill"


def _catch(errors, fn, *args):
    try:
        fn(*args)
    except BaseException as e:  # noqa: BLE001 - handed to the test thread
        errors.append(e)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def test_sensor_and_quality_check_commands(sets):
    sensor = SourcePartitionSensor(task_id="wait", source="click_logs", ds=DS, overrides=sets[:1])
    assert sensor.mode == "reschedule" and not sensor.deferrable
    assert sensor.command(_run({"env": "local", "overrides": ["synth.seed=3"]})) == check_command(
        "partition", DS, env="local", overrides=[sets[0], "synth.seed=3"], source="click_logs"
    )
    assert check_command("quality", DS, env="local", source="s", pipeline="p")[1:] == [
        "-m",
        "jobs",
        "check_quality",
        "--ds",
        DS,
        "--env",
        "local",
        "--source",
        "s",
        "--pipeline",
        "p",
    ]


@pytest.mark.parametrize(
    "script, event",
    [
        (
            'print(\'ctrflow: result {"available": true, "detail": "source s: ds=x present"}\', file=sys.stderr)',
            {"status": "available", "available": True, "detail": "source s: ds=x present"},
        ),
        (
            "print('ctrflow check_partition: error: source s: bad', file=sys.stderr); sys.exit(2)",
            {"status": "error", "detail": "ctrflow check_partition: error: source s: bad (exit 2)"},
        ),
        ("print('no result')", {"status": "error", "detail": "check_partition printed no result line"}),
    ],
    ids=["available", "error line", "no result line"],
)
def test_the_deferrable_sensors_trigger_reads_the_check_jobs_lines(script, event):
    import asyncio

    from operators.triggers import PartitionTrigger

    trigger = PartitionTrigger([sys.executable, "-c", f"import sys; {script}"], 0.1, 30)
    first = asyncio.run(anext(aiter(trigger.run())))
    assert first.payload == event


def test_a_check_that_runs_past_its_timeout_is_ended_with_its_process_group():
    from operators.run_conf import run_check

    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not finish in 1 s"):
        run_check([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=1)
    assert time.monotonic() - t0 < 30


QUALITY = {"max_quarantine_fraction": 0.01, "max_psi": 0.25, "max_drifted_features": 0}


def _metrics(bad=10, total=10_000, psi=None):
    return {
        "source": "click_logs",
        "catalog": "stg.ingest_catalog",
        "stats_table": "feat.x_stats",
        "ingest": {"run_id": "r", "input_rows": total, "quarantined_rows": bad, "top_reasons": {"I1.min": bad}},
        "psi": {"I1": 0.01, "C1": 0.02} if psi is None else psi,
    }


def test_quality_thresholds():
    assert quality_problems(_metrics(), **QUALITY) == []
    [problem] = quality_problems(_metrics(bad=200), **QUALITY)
    assert "200 of 10000 rows quarantined (2.00% > 1.00%): I1.min (200)" in problem
    [problem] = quality_problems(_metrics(psi={"I1": 0.4, "C1": 0.3, "C2": 0.1}), **QUALITY)
    assert "2 feature(s) drifted" in problem and "I1=0.400, C1=0.300" in problem
    assert quality_problems(_metrics(psi={"I1": 0.4}), **{**QUALITY, "max_drifted_features": 1}) == []
    missing = quality_problems({"source": "click_logs", "ingest": None, "psi": None}, **QUALITY)
    assert len(missing) == 2 and "no ingest of click_logs" in missing[0]


def test_gate_branches_on_the_registry_decision(tmp_path, sets):
    from pipelines.registry.store import Registry

    settings = load("local", sets).settings
    reg = Registry.from_settings(settings)

    def register(auc):
        return reg.register(
            "m1", kind="gbdt_lr", flavor="spark_pipeline", eval_ds=DS, metrics={"auc": auc}, staged=reg.stage("m1")
        )

    register(0.7)
    gate = ModelGateOperator(
        task_id="gate", model="m1", publish_task_id="m1.publish", skip_task_id="m1.skip", ds=DS, overrides=sets
    )
    first = gate.decide()
    assert first["accepted"] and first["candidate"] == "v0001" and "no champion yet" in first["reason"]
    reg.publish("m1", "v0001")
    again = gate.decide()  # a retried run after publishing: the candidate is the champion now
    assert not again["accepted"] and "already the champion" in again["reason"]
    register(0.75)
    assert gate.decide()["accepted"]
    pushed = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.update({key: value}))
    assert gate.choose_branch({"ti": ti, **_run()}) == "m1.publish"
    assert pushed["decision"]["candidate"] == "v0002"
    register(0.6)  # refused while a champion exists: the skip branch, then the day is scored with the champion
    assert gate.choose_branch({"ti": ti, **_run()}) == "m1.skip"
    # a first candidate that fails the floors: no champion to score with, so neither branch runs
    reg.register(
        "m0", kind="gbdt_lr", flavor="spark_pipeline", eval_ds=DS, metrics={"auc": 0.5}, staged=reg.stage("m0")
    )
    flat = ModelGateOperator(
        task_id="gate", model="m0", publish_task_id="m0.publish", skip_task_id="m0.skip", ds=DS, overrides=sets
    )
    assert flat.choose_branch({"ti": ti, **_run()}) is None and "floor on auc" in pushed["decision"]["reason"]


def test_gate_judges_the_version_the_training_task_returned(tmp_path, sets):
    from pipelines.registry.store import Registry

    reg = Registry.from_settings(load("local", sets).settings)
    for auc in (0.7, 0.75):
        reg.register(
            "m2", kind="gbdt_lr", flavor="spark_pipeline", eval_ds=DS, metrics={"auc": auc}, staged=reg.stage("m2")
        )
    gate = ModelGateOperator(
        task_id="gate",
        model="m2",
        publish_task_id="m2.publish",
        skip_task_id="m2.skip",
        ds=DS,
        overrides=sets,
        candidate_task_id="train_m2",
    )
    pulled, xcom = [], {"train_m2": {"version": "v0001", "uri": "..."}}
    ti = SimpleNamespace(xcom_pull=lambda task_ids: pulled.append(task_ids) or xcom.get(task_ids))
    assert gate.decide({"ti": ti, **_run()})["candidate"] == "v0001" and pulled == ["train_m2"]
    xcom.clear()  # no XCom (a training task cleared, or run by hand): the day's newest version
    assert gate.decide({"ti": ti, **_run()})["candidate"] == "v0002"


def test_failure_summary_names_task_day_try_and_error():
    ti = SimpleNamespace(task_id="ingest", dag_id="ctr_daily", try_number=1, task=SimpleNamespace(retries=2))
    text = failure_summary({"ti": ti, "ds": DS, "exception": AirflowException("ctrflow ingest: error: x\nmore")})
    assert text == f"ctr_daily.ingest ds={DS} failed (try 1 of 3, will retry): ctrflow ingest: error: x"
