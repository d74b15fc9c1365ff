"""ctr_daily end to end with `dag.test()` on tiny synthetic data (slow: a dozen Spark processes).

Two days are prepared with the jobs (generate, ingest, features; fitted on the first), the third is
generated, then the DAG runs for it with the test overrides passed in the run's conf. It must leave
registered, published GBDT+LR and DeepFM (Horovod on Spark) models with their reports, and both models'
scores for the day. Then a retried ingest of the same day (first try fails, second succeeds) must leave
the day's rows once, not twice.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipelines.common.config import load
from pipelines.registry.store import Registry
from tests.airflow.dag_runs import counts, jobs, run_dag
from tests.conftest import test_overrides

DAYS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]  # on or after dags.yml start_date
DS = DAYS[-1]
ROWS = 4000  # synth.rows_per_day of the test overrides


@pytest.fixture(scope="module")
def sets(tmp_path_factory, airflow_db) -> list[str]:
    state = tmp_path_factory.mktemp("dag_state")
    sets = [
        *test_overrides(state),
        "gbdt.trees.n_estimators=10",
        "gbdt.trees.max_depth=3",
        "ctr.epochs=2",
        "ctr.batch_size=128",
    ]  # 16 steps per worker and epoch: enough to beat the gate floors
    d1, d2 = (d.isoformat() for d in DAYS[:2])
    jobs(  # one process (one Spark session) for the set-up, days in ranges
        sets,
        ["generate", "--ds", f"{d1}..{DS.isoformat()}"],
        ["ingest", "--source", "click_logs", "--ds", f"{d1}..{d2}"],
        ["features", "--pipeline", "ctr_default", "--fit", "--ds", d1],
        ["features", "--pipeline", "ctr_default", "--ds", d2],
    )
    return sets


def test_ctr_daily_end_to_end_and_a_retried_ingest(sets):
    state, tis = run_dag("ctr_daily", sets, DS)
    assert state == "success", tis
    assert {t: s for t, (s, _) in tis.items()} == {
        "wait_for_click_logs": "success",
        "ingest": "success",
        "features": "success",
        "train_gbdt_lr": "success",
        "train_deepfm": "success",
        "evaluate": "success",
        **{
            f"{m}.{t}": s
            for m in ("gbdt_lr", "deepfm")
            for t, s in (("gate", "success"), ("publish", "success"), ("skip_publish", "skipped"), ("score", "success"))
        },
    }

    settings = load("local", sets).settings
    reg = Registry.from_settings(settings)
    day = f"ds = '{DS.isoformat()}'"
    models = ("gbdt_lr", "deepfm")
    for model in models:
        [version] = [v for v in reg.versions(model) if v.eval_ds == DS.isoformat()]
        assert reg.champion(model).version == version.version
        assert 0.5 < version.metrics["auc"] <= 1, (model, version.metrics)
        reports = list(Path(version.artifacts.removeprefix("file:")).rglob("*.md"))
        assert reports, f"no report under {version.artifacts}"

    state, tis = run_dag("ctrflow_ingest_retry", sets, DS)
    assert state == "success" and tis["ingest"] == ("success", 2), tis
    *scored, staged, quarantined = counts(  # one Spark process for the queries of both runs
        sets,
        *(f"SELECT count(*) FROM out.scores WHERE {day} AND model = '{m}'" for m in models),
        f"SELECT count(*) FROM stg.click_logs WHERE {day}",
        f"SELECT count(*) FROM stg.click_logs_quarantine WHERE {day}",
    )
    assert scored == [ROWS, ROWS]  # (the retried ingest leaves out.scores alone)
    assert staged + quarantined == ROWS, json.dumps({"staged": staged, "quarantined": quarantined})
