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


def test_a_restarted_run_resumes_after_the_last_checkpoint(settings, plans, tmp_path):
    first = train.launch(_spec(settings, plans, tmp_path, "local", patience=5), None)
    assert first["epochs_run"] == 2 and os.path.exists(tmp_path / "ckpt" / train.CHECKPOINT)
    resumed = train.launch(_spec(settings, plans, tmp_path, "local", patience=5, epochs=3), None)
    assert resumed["history"][:2] == first["history"]  # epochs 0-1 come from the checkpoint, not rerun
    assert [h["epoch"] for h in resumed["history"]] == [0, 1, 2]
