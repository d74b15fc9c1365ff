"""The loopback cluster end to end (marked `cluster`; the slowest tests, run last by .ci/run's `make test`).

`scripts/cluster.sh up` starts PostgreSQL (Hive metastore and Airflow databases), HDFS (Hadoop's
MiniDFSCluster), a Spark standalone master with two workers and Airflow's scheduler, DAG processor and API
server (LocalExecutor). The tests, in order, share what the earlier ones made:
1. jobs on the standalone master with state on HDFS (generate, ingest, features --fit): files in HDFS, none
   on the local disk;
2. the scheduler's own run of ctr_daily for the latest day (unpaused DAG): green, its GBDT+LR (xgboost's
   barrier stage) and DeepFM (Horovod on Spark) trainers overlapping in time, both on the executors;
3. a two-day backfill, both runs active at once (the Postgres metastore), DeepFM through TorchDistributor
   off local mode, on the executors;
4. `scripts/cluster.sh down` leaves no process behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from operators.scheduler import latest_interval, overlap_seconds
from tests import jvm_archive
from tests.conftest import ROOT, run_cli, test_overrides

pytestmark = pytest.mark.cluster

CLUSTER = str(ROOT / "scripts" / "cluster.sh")
WEBHDFS = "http://127.0.0.1:9870/webhdfs/v1"
MASTER_JSON = "http://127.0.0.1:8081/json/"
D = latest_interval()  # the scheduler's own run
FIT, BACKFILL = D - dt.timedelta(days=3), (D - dt.timedelta(days=2), D - dt.timedelta(days=1))
TAG = uuid.uuid4().hex[:6]
STATE = f"/ctrflow-test-{TAG}"


def _sets() -> list[str]:
    sets = [s for s in test_overrides(Path("/unused")) if not s.startswith(("project.state_dir=", "spark."))]
    return [
        *sets,
        f"project.state_dir=hdfs://127.0.0.1:9000{STATE}",
        f"spark.profiles.cluster.java_options={jvm_archive.JIT}",  # as the local tests' (no archive there)
        *(f"project.databases.{layer}=t{TAG}_{layer}" for layer in ("raw", "stg", "feat", "out")),
        f"sources.sources.click_logs.table=t{TAG}_raw.click_logs",  # what generate writes, the DAG ingests
        "dags.ctr_daily.sensor.poke_interval_s=15",
        "gbdt.trees.n_estimators=10",
        "gbdt.trees.max_depth=3",
        "ctr.epochs=2",
        "ctr.batch_size=128",
        "ctr.train_days=3",  # the window holds the days that exist: FIT at least
        "gbdt.train_days=3",
        "dags.defaults.retries=0",
        "dags.ctr_daily.max_active_runs=2",
    ]


def _cluster(*args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return run_cli([CLUSTER, *args], timeout=timeout, env=env)


def _env() -> dict[str, str]:
    """The cluster's environment: addresses, the metastore password, Airflow's database."""
    files = " ".join(shlex.quote(str(ROOT / ".state" / "cluster" / f)) for f in ("secrets.env", "airflow.env"))
    out = subprocess.run(
        ["bash", "-c", f"set -a; for f in {files}; do . $f; done; env -0"], capture_output=True, check=True
    ).stdout.decode()
    env = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
    return {k: v for k, v in env.items() if k not in os.environ or os.environ[k] != v}


@pytest.fixture(scope="module")
def cluster():
    sets = _sets()
    _cluster("down")  # Airflow must parse the DAGs with this run's overrides
    up = _cluster("up", env={"CTRFLOW_DAG_OVERRIDES": shlex.join(sets)})
    if up.returncode != 0:
        _cluster("down")  # the parts that did start
    assert up.returncode == 0, f"cluster.sh up:\n{up.stdout[-2000:]}\n{up.stderr[-3000:]}"
    # a fresh history: the scheduler's next run is then the latest day's (deleted records come back when the
    # DAG processor parses the file again)
    _cluster("airflow", "dags", "delete", "ctr_daily", "--yes")
    yield {"sets": sets, "env": _env()}
    _cluster("down")  # when a test failed before test_down_leaves_no_process_behind


def _job(cluster, *args: str) -> None:
    argv = [sys.executable, "-m", "jobs", *args, "--env", "loopback"]
    argv += [x for s in cluster["sets"] for x in ("--set", s)]
    done = run_cli(argv, timeout=900, env=cluster["env"])
    assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"


def _hdfs_files(path: str) -> list[str]:
    """Every file under an HDFS path (WebHDFS LISTSTATUS, recursively)."""
    answer = requests.get(f"{WEBHDFS}{path}?op=LISTSTATUS", timeout=30)
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    out = []
    for st in answer.json()["FileStatuses"]["FileStatus"]:
        child = f"{path}/{st['pathSuffix']}"
        out += _hdfs_files(child) if st["type"] == "DIRECTORY" else [child]
    return out


def _hdfs_json(path: str) -> dict:
    return requests.get(f"{WEBHDFS}{path}?op=OPEN", timeout=30).json()


def _apps() -> list[dict]:
    master = requests.get(MASTER_JSON, timeout=10).json()
    return master["activeapps"] + master["completedapps"]


def _scheduler(cluster, *args: str) -> list[dict]:
    done = run_cli([sys.executable, "-m", "operators.scheduler", "ctr_daily", *args, "--json"], 3600, cluster["env"])
    assert done.stdout.strip(), f"operators.scheduler {args}: {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _interval(task: dict) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime.fromisoformat(task["start"]), dt.datetime.fromisoformat(task["end"])


def _ranks_on_executors(model: str) -> list[dict]:
    """The worker reports of the model's training runs, each with the directory its process ran in."""
    reports = [f for f in _hdfs_files(f"{STATE}/ctr/runs/{model}") if "/workers/rank-" in f]
    return [_hdfs_json(f) for f in reports]


def test_jobs_on_the_standalone_master_keep_state_on_hdfs(cluster):
    # the fit day, the backfill's days and the scheduled one: a range, one application (~100 s a start here)
    _job(cluster, "generate", "--ds", f"{FIT}..{D}")
    _job(cluster, "ingest", "--source", "click_logs", "--ds", FIT.isoformat())
    _job(cluster, "features", "--pipeline", "ctr_default", "--fit", "--ds", FIT.isoformat())
    files = _hdfs_files(STATE)
    # the Delta tables of every layer, the fitted pipeline and its feature map, the landing files: in HDFS
    assert any(f"/t{TAG}_stg.db/click_logs/_delta_log/" in f for f in files), files[:20]
    assert any(f"/t{TAG}_feat.db/ctr_default/" in f for f in files)
    assert any(f.endswith("feature_map.json") for f in files)
    # ... and nothing of it on the local disk (a local folder named `hdfs:` was the old failure)
    assert not list(ROOT.glob("hdfs:*")) and not (ROOT / "hdfs:").exists()
    names = {a["name"] for a in _apps()}
    assert f"ctrflow features {FIT}" in names and f"ctrflow ingest {FIT}" in names  # on the standalone master


def test_scheduled_ctr_daily_runs_its_trainers_in_parallel_on_the_executors(cluster):
    (run,) = _scheduler(cluster, "--ds", D.isoformat(), "--timeout-s", "2400")
    failed = {k: t["state"] for k, t in run["tasks"].items() if t["state"] not in ("success", "skipped")}
    assert run["state"] == "success", failed
    assert run["run_type"] == "scheduled"  # the scheduler's own run of the latest interval, not a trigger
    tasks = run["tasks"]
    assert overlap_seconds(_interval(tasks["train_gbdt_lr"]), _interval(tasks["train_deepfm"])) > 0
    apps = {a["name"]: a for a in _apps()}
    for job in ("train_gbdt_lr", "train_ctr"):
        assert apps[f"ctrflow {job} {D}"]["cores"] >= 2  # executors: xgboost's barrier stage, Horovod's tasks
    ranks = _ranks_on_executors("deepfm")
    assert len(ranks) >= 2 and all("/spark-work-" in r["cwd"] for r in ranks), ranks  # executor work dirs


def test_two_day_backfill_runs_two_days_at_once(cluster):
    conf = json.dumps({"overrides": ["ctr.backend=torch_distributor"]})
    first, last = (d.isoformat() for d in BACKFILL)
    runs = _scheduler(cluster, "--backfill", first, last, "--max-active-runs", "2", "--conf", conf)
    assert [r["state"] for r in runs] == ["success", "success"], [
        {k: t["state"] for k, t in r["tasks"].items()} for r in runs
    ]
    assert {r["run_type"] for r in runs} == {"backfill"}
    spans = [
        (
            min(_interval(t)[0] for t in r["tasks"].values() if t["start"]),
            max(_interval(t)[1] for t in r["tasks"].values() if t["end"]),
        )
        for r in runs
    ]
    assert overlap_seconds(*spans) > 0  # both runs active at once: two drivers on one Postgres metastore
    # DeepFM through TorchDistributor off local mode: torchrun in barrier tasks on the executors
    by_dir = [r for r in _ranks_on_executors("deepfm") if r.get("backend") == "torch_distributor"]
    assert len(by_dir) >= 2 and all("/spark-work-" in r["cwd"] for r in by_dir), by_dir


def test_down_leaves_no_process_behind(cluster):
    user = os.environ.get("USER", "root")
    assert requests.delete(f"{WEBHDFS}{STATE}?op=DELETE&recursive=true&user.name={user}", timeout=60).json()["boolean"]
    down = _cluster("down")
    assert down.returncode == 0, down.stderr[-2000:]
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    ours = [
        line
        for line in ps.splitlines()
        if str(ROOT / ".state" / "cluster") in line
        or "org.apache.spark.deploy." in line
        or "airflow scheduler" in line
        or "airflow dag-processor" in line
        or "airflow api-server" in line
    ]
    assert not ours, "\n".join(ours)
    status = _cluster("status")
    assert "up" not in status.stdout.replace("up|down", ""), status.stdout
