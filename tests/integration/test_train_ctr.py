"""Deep CTR training on Spark: Horovod on Spark and TorchDistributor with 2 workers end with identical
parameters, a killed run resumes from its checkpoint, and the train_ctr job end to end (generate ->
ingest -> features --fit -> train_ctr) registers a model that score_dataframe and the score job use."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

import pytest

from pipelines.common import tables
from pipelines.ctr import data, train
from pipelines.ctr.models import load_config
from tests.unit.ctr import _tiny

D1, D2 = dt.date(2026, 7, 1), dt.date(2026, 7, 2)


@pytest.fixture(scope="module")
def plans(spark, settings):
    name = tables.table(settings, "feat", "ctr_train_it")
    for i, day in enumerate((D1, D2)):
        tables.write_delta_partition(spark.createDataFrame(_tiny.frame(3000, seed=i)).repartition(2), name, day)
    return data.plan_days(spark, name, [D1], None), data.plan_days(spark, name, [D2], None)


def _spec(settings, plans, tmp_path, backend: str, **over) -> train.TrainSpec:
    ctr = dataclasses.replace(settings.ctr, **{"backend": backend, "num_workers": 2, "epochs": 2, "batch_size": 256,
                                               "shuffle_buffer": 1000, "log_every_steps": 1000, **over})
    return train.TrainSpec(model="deepfm", model_config=load_config("deepfm", "test"), features=_tiny.spec(),
                           train=plans[0], val=plans[1], settings=ctr, checkpoint_dir=str(tmp_path / "ckpt"),
                           out_dir=str(tmp_path / "out"))


def _digests(spec) -> set[str]:
    reports = sorted(Path(spec.out_dir, "workers").glob("rank-*.json"))
    assert len(reports) == spec.settings.num_workers
    return {json.loads(p.read_text())["params_sha256"] for p in reports}


@pytest.mark.parametrize("backend", ["horovod_spark", "torch_distributor"])
def test_two_workers_end_with_identical_parameters(spark, settings, plans, tmp_path, backend):
    spec = _spec(settings, plans, tmp_path, backend)
    result = train.launch(spec, spark)
    assert result["workers"] == 2 and result["epochs_run"] == 2
    assert [h["train_rows"] for h in result["history"]] == [3000, 3000]  # every row once per epoch
    assert result["history"][-1]["val_auc"] > 0.6
    assert len(_digests(spec)) == 1
    # the checkpoint holds the optimizer that stepped, and its adagrad accumulators started at the
    # configured value on every rank (Horovod's DistributedOptimizer is a new optimizer: it would start at 0)
    import torch

    opt = torch.load(Path(spec.checkpoint_dir, train.CHECKPOINT), weights_only=False)["optimizer"]
    start = spec.model_config.adagrad_initial_accumulator
    steps = 2 * data.steps_per_epoch(spec.train, 2, 256)
    assert {int(s["step"]) for s in opt["state"].values()} == {steps}
    assert min(float(s["sum"].min()) for s in opt["state"].values()) >= start * (1 - 1e-6) > 0


def test_a_restarted_run_resumes_after_the_last_checkpoint(settings, plans, tmp_path):
    first = train.launch(_spec(settings, plans, tmp_path, "local", patience=5), None)
    assert first["epochs_run"] == 2 and os.path.exists(tmp_path / "ckpt" / train.CHECKPOINT)
    resumed = train.launch(_spec(settings, plans, tmp_path, "local", patience=5, epochs=3), None)
    assert resumed["history"][:2] == first["history"]  # epochs 0-1 come from the checkpoint, not rerun
    assert [h["epoch"] for h in resumed["history"]] == [0, 1, 2]


# -- the job end to end -------------------------------------------------------------------------------
E1, E2 = dt.date(2026, 6, 1), dt.date(2026, 6, 2)
PIPE = "ctr_it"
TINY_PIPELINE = {"source": "click_logs", "label": "label", "train_days": 1, "stages": [
    {"name": "logs", "type": "log", "params": {"inputs": ["i1", "i2", "i5"]}},  # raw counts reach the thousands
    {"name": "num", "type": "impute", "params": {"inputs": ["i1_log", "i2_log", "i5_log"],
                                                 "outputs": ["i1_imp", "i2_imp", "i5_imp"]}},
    {"name": "bkt", "type": "bucketize", "params": {"inputs": ["i3"], "num_buckets": 5}},
    {"name": "cat", "type": "index", "params": {"inputs": ["c1", "c2", "c6", "c10", "c11"]}},
]}
TOWERS = ["user_fields=[c1_idx, c2_idx, i1_imp]", "item_fields=[c10_idx, c11_idx, i2_imp]",
          "user_id_field=c1_idx", "item_id_field=c10_idx"]


@pytest.fixture(scope="module")
def job(spark, overrides, tmp_path_factory):
    """generate -> ingest -> features --fit (E1) -> features (E2), with a tiny feature pipeline."""
    import shutil

    import yaml

    from jobs._harness import run_job

    root = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(Path(__file__).resolve().parents[2] / "conf", root)
    (root / "base/features" / f"{PIPE}.yml").write_text(yaml.safe_dump(TINY_PIPELINE))
    sets = [x for o in [*overrides, f"ctr.pipeline={PIPE}", "ctr.backend=local", "ctr.epochs=2",
                        "ctr.batch_size=256", "ctr.shuffle_buffer=2000"] for x in ("--set", o)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CTRFLOW_CONF", str(root))
        for day in (E1, E2):
            assert run_job("generate", ["--ds", str(day), *sets], spark=spark) == 0
            assert run_job("ingest", ["--ds", str(day), "--source", "click_logs", *sets], spark=spark) == 0
        assert run_job("features", ["--pipeline", PIPE, "--ds", str(E1), "--fit", *sets], spark=spark) == 0
        assert run_job("features", ["--pipeline", PIPE, "--ds", str(E2), *sets], spark=spark) == 0
        yield lambda name, *args: run_job(name, [*sets, *args], spark=spark)


def test_train_ctr_registers_a_model_that_scores_a_partition(spark, settings, job):
    from pipelines.ctr.scoring import score_dataframe
    from pipelines.registry.store import Registry

    assert job("train_ctr", "--model", "deepfm", "--variant", "test", "--ds", str(E2)) == 0
    reg = Registry.from_settings(settings)
    mv = reg.versions("deepfm")[-1]
    assert mv.flavor == "torch" and mv.kind == "deepfm" and mv.eval_ds == str(E2)
    assert mv.inputs[f"feat.{PIPE}"] >= 1 and mv.extra["train_days"] == [str(E1)]
    assert {"auc", "logloss", "ne", "calibration"} <= set(mv.metrics) and mv.metrics["auc"] > 0.55
    assert [h["epoch"] for h in mv.extra["history"]] == [0, 1]
    assert {"report.md", "roc.png", "loss_curves.png"} <= set(os.listdir(f"{mv.artifacts}/report"))
    assert not any(Path(settings.project.path("ctr", "checkpoints", "deepfm")).glob("*/last.pt"))

    day = spark.table(f"feat.{PIPE}").where(f"ds = '{E2}'")
    scored = score_dataframe(spark, mv, day)
    assert dict(scored.dtypes)["probability"] == "double"
    stats = scored.selectExpr("count(*) n", "min(probability) lo", "max(probability) hi").first()
    assert stats.n == settings.synth.rows_per_day and 0 < stats.lo < stats.hi < 1

    # published, a second training run is compared with it on the same day
    assert reg.publish("deepfm", mv.version).accepted
    assert job("train_ctr", "--model", "deepfm", "--variant", "test", "--ds", str(E2), "--param", "seed=8") == 0
    second = reg.versions("deepfm")[-1]
    assert second.extra["champion_eval"]["version"] == mv.version
    assert job("score", "--model", "deepfm", "--ds", str(E2)) == 0


def test_two_tower_exports_embeddings(spark, settings, job):
    assert job("train_ctr", "--model", "two_tower", "--variant", "test", "--ds", str(E2), "--param", *TOWERS) == 0
    items = spark.table("out.two_tower_item_embeddings").where(f"ds = '{E2}'")
    users = spark.table("out.two_tower_user_embeddings").where(f"ds = '{E2}'")
    day = spark.table(f"feat.{PIPE}").where(f"ds = '{E2}'")
    assert items.count() == day.select("c10_idx").distinct().count()
    assert users.count() == day.select("c1_idx").distinct().count()
    assert dict(items.dtypes) == {"id": "bigint", "vector": "array<float>", "ds": "string"}
    vec = users.first().vector
    assert len(vec) == 8 and abs(sum(v * v for v in vec) - 1) < 1e-4  # unit vectors of output_dim 8


def test_train_ctr_errors_name_the_problem(job):
    assert job("train_ctr", "--model", "deepfn", "--ds", str(E2)) == 2
    assert job("train_ctr", "--model", "deepfm", "--ds", str(E2), "--param", "embed_dimm=3") == 2
    assert job("train_ctr", "--model", "deepfm", "--ds", "2026-05-01") == 1
