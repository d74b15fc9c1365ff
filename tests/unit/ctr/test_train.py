"""The training loop without Spark (plans over plain Parquet files, local backend): holdout split, batch size
that follows the window, base-rate start, warm-up, and the loss-explosion guard's one-line error."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from pipelines.ctr import data, train
from pipelines.ctr.models import build_model, load_config, model_names
from pipelines.settings.ctr import CtrSettings
from tests.unit.ctr import tiny

CTR_MODELS = [m for m in model_names() if m != "two_tower"]


@pytest.fixture(scope="module")
def window(tmp_path_factory) -> data.DataPlan:
    """3,000 rows in two files of uneven row groups; n2 holds a row id / 3000 (a standardised-sized value)."""
    root = tmp_path_factory.mktemp("feat")
    files, start = [], 0
    for i, (rows, group) in enumerate(((1700, 500), (1300, 64))):
        df = tiny.frame(rows, seed=i)
        df["n2"] = np.arange(start, start + rows, dtype=np.float64) / 3000
        start += rows
        path = str(root / f"part-{i}.parquet")
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=group)
        files.append(path)
    return data.plan_files("feat.tiny", [], files)


def _ids(batches) -> np.ndarray:
    return np.rint(np.concatenate([num[:, 1] for _, num, _ in batches]).astype(np.float64) * 3000).astype(np.int64)


def _plan_ids(plan: data.DataPlan) -> np.ndarray:
    return _ids(data.eval_chunks(plan, tiny.spec(), 0, 1, read_rows=100))


def test_holdout_is_the_tail_of_every_row_group_disjoint_from_training(window):
    trainp, holdout = data.split_holdout(window, 0.1)
    assert trainp.rows + holdout.rows == window.rows and holdout.rows == 300
    assert len(holdout.pieces) > 20  # every row group gives its share, small ones included
    seen_train, seen_holdout = _plan_ids(trainp), _plan_ids(holdout)
    assert len(np.intersect1d(seen_train, seen_holdout)) == 0
    assert sorted(np.concatenate([seen_train, seen_holdout])) == list(range(window.rows))
    for t, h in zip(trainp.pieces, holdout.pieces, strict=False):  # the holdout rows follow the training rows
        assert (t.path, t.row_group) == (h.path, h.row_group) and h.start == t.start + t.rows
    # a training epoch over two ranks reads the training rows only, each once
    spec = tiny.spec()
    epoch = np.concatenate(
        [
            _ids(data.worker_batches(trainp, spec, r, 2, epoch=0, batch_size=128, shuffle_buffer=500, read_rows=100))
            for r in (0, 1)
        ]
    )
    assert sorted(epoch) == sorted(seen_train)
    assert data.split_holdout(window, 0.0)[1].rows == 0


def test_batch_size_follows_the_window():
    plan = data.DataPlan("t", [], [data.Piece("f", 0, 8_000)])
    assert data.fitted_batch_size(plan, 2, 2048, 128, 32) == 128  # 4,000 rows per worker: 31 steps, not 2
    assert data.fitted_batch_size(plan, 1, 2048, 64, 32) == 250
    big = data.DataPlan("t", [], [data.Piece("f", 0, 10_000_000)])
    assert data.fitted_batch_size(big, 2, 2048, 128, 32) == 2048
    assert data.fitted_batch_size(plan, 2, 100, 128, 32) == 100  # never above ctr.batch_size


@pytest.mark.parametrize("name", CTR_MODELS)
def test_a_fresh_model_predicts_the_base_rate_on_any_input(name):
    model = build_model(name, tiny.spec(), load_config(name), base_rate=0.03).eval()
    gen = torch.Generator().manual_seed(0)
    cat = torch.randint(0, tiny.VOCAB, (512, len(tiny.CATS)), generator=gen) + torch.arange(len(tiny.CATS)) * 10
    num = (torch.rand(512, len(tiny.NUMS), generator=gen) - 0.5) * 10  # standardised values reach +-5
    p = model.predict(cat, num)
    assert float(p.min()) > 0.028 and float(p.max()) < 0.032, (float(p.min()), float(p.max()))


def _spec(window, tmp_path, model="deepfm", params=(), **ctr) -> train.TrainSpec:
    settings = dataclasses.replace(
        CtrSettings(), **{"backend": "local", "epochs": 2, "shuffle_buffer": 1000, "log_every_steps": 10**6, **ctr}
    )
    cfg = load_config(model, "test", overrides=list(params))
    return train.TrainSpec.on_window(
        window,
        settings,
        model=model,
        model_config=cfg,
        features=tiny.spec(),
        checkpoint_dir=str(tmp_path / "ckpt"),
        out_dir=str(tmp_path / "out"),
    )


def test_training_selects_on_the_holdout_and_reports_its_batch(window, tmp_path):
    spec = _spec(window, tmp_path, patience=3, epochs=3)
    result = train.launch(spec, None)
    assert result["train_rows"] == 2700 and result["holdout_rows"] == 300
    assert result["batch_size"] == 64 and result["steps_per_epoch"] == math.ceil(2700 / 64)  # min_batch_size
    assert result["base_rate"] == pytest.approx(data.label_mean(spec.train, "label"))
    first = result["history"][0]
    assert first["train_rows"] == 2700 and {"train_loss", "holdout_loss", "holdout_auc", "holdout_ne"} <= set(first)
    losses = [h["holdout_loss"] for h in result["history"]]
    assert result["best_epoch"] == int(np.argmin(losses)) and result["best_holdout_loss"] == min(losses)


def test_warmup_ramps_the_learning_rate(window, tmp_path):
    spec = _spec(window, tmp_path, params=["warmup_steps=200"], epochs=1, holdout_fraction=0.0)
    result = train.launch(spec, None)
    steps = result["steps_per_epoch"]
    groups = torch.load(tmp_path / "ckpt" / train.CHECKPOINT, weights_only=False)["optimizer"]["param_groups"]
    # each param group ramps from its own rate: the tables' Adagrad (test variant: 0.1), the dense Adam (0.001)
    assert steps < 200 and [(g["rule"], g["lr"]) for g in groups] == [
        ("adagrad", pytest.approx(0.1 * steps / 200)),
        ("adam", pytest.approx(0.001 * steps / 200)),
    ]
    assert result["best_epoch"] == 0  # nothing held out: the last epoch is kept


def test_an_exploding_loss_stops_with_one_line_naming_model_epoch_and_step(window, tmp_path):
    spec = _spec(window, tmp_path, params=["learning_rate=1000", "adagrad_initial_accumulator=0"])
    with pytest.raises(train.TrainingDiverged) as e:
        train.launch(spec, None)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("training deepfm diverged at epoch 0 step 10: ")
    assert "ctr.loss_guard_factor 3" in msg and "learning_rate" in msg
    assert not (tmp_path / "out" / train.RESULT).exists()
    # a lower threshold catches a milder run; a NaN loss is caught whatever the threshold
    guard = train._LossGuard(spec, train._Comm("local"), 0.25, True)
    guard.add(float("nan"), 10)
    with pytest.raises(train.TrainingDiverged, match="step 3: the loss is not finite"):
        guard.check(0, 3)


def test_a_workers_config_error_reaches_the_launcher_as_itself(window, tmp_path):
    from pipelines.core.errors import ConfigError

    spec = _spec(window, tmp_path, model="ffm", params=["max_parameters=10"])
    with pytest.raises(ConfigError, match="exceeds max_parameters 10"):
        train.launch(spec, None)
