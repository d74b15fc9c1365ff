"""One training function for every backend, and the launchers that run it on N workers.

`train_worker(spec, comm_kind)` runs in each worker process: Horovod (`horovod.spark.run` with gloo on
Spark tasks, or `horovod.run` = horovodrun on this machine), torch.distributed DDP (pyspark's
TorchDistributor) or alone. Parameters start equal on every rank (Horovod broadcast from rank 0, DDP's
own broadcast); gradients are averaged each step (hvd.DistributedOptimizer / DDP); per-epoch training
loss and holdout logloss / AUC are reduced over all workers (score histograms summed, then
pipelines.eval.metrics), so every rank takes the same early-stopping decision. The holdout is a slice of
the training window (the last rows of each row group): the day the job reports and gates on is never
read here. Models start at the window's positive rate (`base_rate`); the per-worker batch shrinks on a
small window so that an epoch still takes `ctr.min_steps_per_epoch` steps; a loss that explodes stops
every rank at the same step (`_LossGuard`) with one error naming the model, epoch and step.

Rank 0 writes a checkpoint after every epoch (`<checkpoint_dir>/last.pt`, replaced atomically) and, at
the end, the best epoch's model and `result.json` under `out_dir`: the launcher reads that file, not the
launcher's return value (TorchDistributor in local mode returns whichever rank finished last). A
restarted run with the same checkpoint_dir resumes after the last completed epoch.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import logging
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from pipelines.common import storage
from pipelines.core.errors import ConfigError, CtrflowError, DataError
from pipelines.ctr.data import (
    DataPlan,
    eval_chunks,
    fitted_batch_size,
    label_mean,
    split_holdout,
    steps_per_epoch,
    worker_batches,
)
from pipelines.ctr.models.base import FeatureSpec
from pipelines.eval.metrics import DEFAULT_BINS, metrics_from_array_bins, score_bins_of_arrays
from pipelines.settings.ctr import CtrSettings

log = logging.getLogger("ctrflow.ctr")

CHECKPOINT, RESULT, ERROR, MODEL_DIR = "last.pt", "result.json", "error.txt", "model"


@dataclass(frozen=True)
class TrainSpec:
    """Everything a worker needs (pickled to the workers): what to train, on which rows, where to write.

    `train` and `holdout` are disjoint slices of the training window (`TrainSpec.on_window` cuts them):
    the workers never see the day the job reports and gates on."""

    model: str
    model_config: object  # the model's config dataclass
    features: FeatureSpec
    train: DataPlan
    holdout: DataPlan  # early stopping and the best epoch; may be empty (holdout_fraction 0)
    settings: CtrSettings
    checkpoint_dir: str
    out_dir: str
    base_rate: float | None = None  # the window's positive rate; None: launch reads it from the files

    @classmethod
    def on_window(cls, window: DataPlan, settings: CtrSettings, **kw) -> TrainSpec:
        train, holdout = split_holdout(window, settings.holdout_fraction)
        return cls(train=train, holdout=holdout, settings=settings, **kw)


class TrainingDiverged(DataError):
    """The training loss exploded; every rank raises it at the same step (they decide together)."""


class _Comm:
    """The few collective operations training needs, over Horovod, torch.distributed or a single process."""

    def __init__(self, kind: str):
        self.kind = kind
        if kind == "horovod":
            import horovod.torch as hvd

            hvd.init()
            self.hvd, self.rank, self.size = hvd, hvd.rank(), hvd.size()
        elif kind == "ddp":
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("gloo")
            self.dist, self.rank, self.size = dist, dist.get_rank(), dist.get_world_size()
        else:
            self.rank, self.size = 0, 1

    def wrap(self, model, optimizer):
        """(a callable computing the loss with synchronised gradients, the optimizer to step)."""
        if self.kind == "horovod":
            self.hvd.broadcast_parameters(model.state_dict(), root_rank=0)
            wrapped = self.hvd.DistributedOptimizer(optimizer, named_parameters=model.named_parameters())
            # Horovod builds a new optimizer of the same class from the param groups, so state made in the
            # constructor (Adagrad's accumulator starts at initial_accumulator_value, not 0) or loaded from
            # a checkpoint is not carried over: copy it, then make every rank start from rank 0's.
            wrapped.load_state_dict(optimizer.state_dict())
            self.hvd.broadcast_optimizer_state(wrapped, root_rank=0)
            return model.loss, wrapped
        if self.kind == "ddp":
            import torch
            from torch.nn.parallel import DistributedDataParallel

            class LossModule(torch.nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, cat, num, label):
                    return self.inner.loss(cat, num, label)

            return DistributedDataParallel(LossModule(model)), optimizer
        return model.loss, optimizer

    def sum(self, values: np.ndarray) -> np.ndarray:
        import torch

        if self.kind == "horovod":
            return self.hvd.allreduce(torch.from_numpy(values), op=self.hvd.Sum).numpy()
        if self.kind == "ddp":
            t = torch.from_numpy(values.copy())
            self.dist.all_reduce(t)
            return t.numpy()
        return values

    def barrier(self) -> None:
        if self.size > 1:
            self.sum(np.zeros(1))

    def close(self) -> None:
        if self.kind == "ddp" and self.dist.is_initialized():
            self.dist.destroy_process_group()


def metrics_of_bins(bins: np.ndarray) -> dict:
    if bins[0].sum() == 0:
        raise DataError("no validation rows to evaluate")
    return metrics_from_array_bins(bins).as_dict()


def evaluate(model, plan: DataPlan, spec: FeatureSpec, comm: _Comm, read_rows: int, read_threads: int = 0) -> dict:
    import torch

    model.eval()
    bins = np.zeros((4, DEFAULT_BINS))
    with torch.no_grad():
        for cat, num, y in eval_chunks(plan, spec, comm.rank, comm.size, read_rows, read_threads):
            prob = model.predict(torch.from_numpy(cat), torch.from_numpy(num)).numpy()
            bins += score_bins_of_arrays(prob, y)
    return metrics_of_bins(comm.sum(bins))


def evaluate_saved(model_dir: str, plan: DataPlan, read_rows: int = 16_384) -> dict:
    """Metrics of a saved model on a plan's rows, in this process (benchmarks; the job scores through Spark)."""
    from pipelines.ctr.models import load_model

    model = load_model(model_dir)
    return evaluate(model, plan, model.spec, _Comm("local"), read_rows)


def _say(rank: int, msg: str, *args) -> None:
    if rank == 0:
        print(f"{time.strftime('%H:%M:%S')} ctrflow.ctr: " + msg % args, file=sys.stderr, flush=True)


def _save_checkpoint(path: str, doc: dict) -> None:
    import torch

    buf = io.BytesIO()
    torch.save(doc, buf)
    storage.write_bytes(path, buf.getvalue())  # replaced whole: a killed save leaves the previous epoch's


def params_digest(model) -> str:
    """A hash of every trained parameter's bytes: equal digests = identical parameters."""
    import hashlib

    h = hashlib.sha256()
    for name, p in sorted(model.named_parameters()):
        h.update(name.encode())
        h.update(p.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def _write_worker_report(out_dir: str, rank: int, model, state: dict, backend: str) -> None:
    """<out_dir>/workers/rank-<r>.json: what this worker ended with (its parameters' digest, epochs run) and
    where it ran (host, pid, working directory: a Spark executor's work directory on a cluster master)."""
    import socket

    doc = {
        "rank": rank,
        "params_sha256": params_digest(model),
        "epochs": len(state["history"]),
        "backend": backend,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "cwd": os.getcwd(),
    }
    storage.write_json(f"{out_dir}/workers/rank-{rank}.json", doc, indent=None)


class _LossGuard:
    """Stops a run whose training loss explodes. Each rank keeps its last `loss_guard_steps` batch losses;
    every `loss_guard_every` steps the ranks sum (non-finite batches, loss, rows) in one allreduce, so all
    see the same totals and stop at the same step (a rank raising alone would hang the others in the next
    allreduce)."""

    def __init__(self, spec: TrainSpec, comm: _Comm, base_rate: float, logloss_objective: bool):
        from collections import deque

        from pipelines.eval.metrics import entropy

        s = spec.settings
        self.model, self.comm, self.base_rate, self.factor = spec.model, comm, base_rate, s.loss_guard_factor
        self.entropy = entropy(base_rate)
        # a loss that is not the plain log loss (two_tower's in-batch softmax) is only checked for finiteness
        self.limit = self.factor * self.entropy if logloss_objective else math.inf
        self.recent: deque[tuple[float, int]] = deque(maxlen=s.loss_guard_steps)
        self.not_finite = 0

    def add(self, loss: float, rows: int) -> None:
        if math.isfinite(loss):
            self.recent.append((loss * rows, rows))
        else:
            self.not_finite += 1

    def check(self, epoch: int, step: int) -> None:
        recent = np.array(self.recent, dtype=np.float64).reshape(-1, 2).sum(axis=0)
        bad, loss_sum, rows = self.comm.sum(np.array([self.not_finite, *recent], dtype=np.float64))
        where = f"training {self.model} diverged at epoch {epoch} step {step}"
        fix = (
            f"lower learning_rate or set warmup_steps in conf/base/models/{self.model}.yml (--param learning_rate=...)"
        )
        if bad:
            raise TrainingDiverged(f"{where}: the loss is not finite ({int(bad)} batch(es) over all workers); {fix}")
        if rows and loss_sum / rows > self.limit:
            raise TrainingDiverged(
                f"{where}: mean loss {loss_sum / rows:.3f} over the last {len(self.recent)} steps is above "
                f"ctr.loss_guard_factor {self.factor:g} x {self.entropy:.3f} (the log loss of predicting the "
                f"positive rate {self.base_rate:.4f}); {fix}"
            )


def _holdout_score(metrics: dict, metric: str) -> float:
    """Higher is better. A holdout of one class has no AUC: its log loss decides then."""
    if metric == "auc" and math.isfinite(metrics["auc"]):
        return metrics["auc"]
    return -metrics["logloss"]


def train_worker(spec: TrainSpec, comm_kind: str = "local") -> dict:
    """The training function every backend runs, once per worker process."""
    import torch

    from pipelines.ctr.models import build_model, save_model

    s = spec.settings
    torch.set_num_threads(s.threads_per_worker)
    comm = _Comm(comm_kind)
    try:
        base_rate = spec.base_rate if spec.base_rate is not None else label_mean(spec.train, spec.features.label)
        model = build_model(spec.model, spec.features, spec.model_config, base_rate=base_rate)
        optimizer = model.make_optimizer()
        ckpt_path = f"{spec.checkpoint_dir}/{CHECKPOINT}"
        state = {
            "epoch": -1,
            "history": [],
            "best_score": -math.inf,
            "best_epoch": -1,
            "bad_epochs": 0,
            "best_model": None,
        }
        if storage.exists(ckpt_path):  # every rank reads the same file: all resume from the same point
            ckpt = torch.load(io.BytesIO(storage.read_bytes(ckpt_path)), map_location="cpu", weights_only=False)
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            state = ckpt["state"]
            _say(comm.rank, "resuming %s after epoch %d from %s", spec.model, state["epoch"], ckpt_path)
        loss_fn, opt = comm.wrap(model, optimizer)
        batch = fitted_batch_size(spec.train, comm.size, s.batch_size, s.min_batch_size, s.min_steps_per_epoch)
        steps = steps_per_epoch(spec.train, comm.size, batch)
        warmup = spec.model_config.warmup_steps
        guard = _LossGuard(spec, comm, base_rate, model.logloss_objective)
        _say(
            comm.rank,
            "training %s on %d workers: %d rows (%d more held out for early stopping), positive rate "
            "%.4f; batch %d per worker (ctr.batch_size %d), %d steps per worker and epoch, at most %d epochs",
            spec.model,
            comm.size,
            spec.train.rows,
            spec.holdout.rows,
            base_rate,
            batch,
            s.batch_size,
            steps,
            s.epochs,
        )
        for epoch in range(state["epoch"] + 1, s.epochs):
            if state["bad_epochs"] >= s.patience:
                break
            model.train()
            t0, loss_sum, rows = time.perf_counter(), 0.0, 0
            batches = worker_batches(
                spec.train,
                spec.features,
                comm.rank,
                comm.size,
                epoch=epoch,
                batch_size=batch,
                shuffle_buffer=s.shuffle_buffer,
                read_rows=s.read_batch_rows,
                read_threads=s.read_threads,
                seed=s.seed,
            )
            for step, (cat, num, y) in enumerate(batches, 1):
                done = epoch * steps + step  # optimizer steps of the run, this one included
                if done <= warmup:  # each param group from its own rate (embeddings and dense may differ)
                    for group in opt.param_groups:
                        group["lr"] = group.setdefault("base_lr", group["lr"]) * done / warmup
                opt.zero_grad()
                loss = loss_fn(torch.from_numpy(cat), torch.from_numpy(num), torch.from_numpy(y))
                loss.backward()
                opt.step()
                value = float(loss.detach())
                guard.add(value, len(y))
                loss_sum += value * len(y)
                rows += len(y)
                if step % s.loss_guard_every == 0 or step == steps:
                    guard.check(epoch, step)
                if step % s.log_every_steps == 0:
                    _say(
                        comm.rank,
                        "epoch %d step %d/%d loss %.5f (%.0f rows/s per worker)",
                        epoch,
                        step,
                        steps,
                        loss_sum / rows,
                        rows / (time.perf_counter() - t0),
                    )
            train_time = time.perf_counter() - t0
            total = comm.sum(np.array([loss_sum, rows], dtype=np.float64))
            record = {
                "epoch": epoch,
                "train_loss": float(total[0] / total[1]),
                "train_rows": int(total[1]),
                "batch_size": batch,
                "steps": steps,
                "train_seconds": round(train_time, 3),
                "rows_per_second": round(total[1] / train_time, 1),
            }
            if spec.holdout.rows:
                held = evaluate(model, spec.holdout, spec.features, comm, s.read_batch_rows, s.read_threads)
                record.update(
                    holdout_loss=held["logloss"],
                    holdout_auc=held["auc"],
                    holdout_ne=held["ne"],
                    holdout_calibration=held["calibration"],
                )
                score = _holdout_score(held, s.early_stopping_metric)
            else:
                score = float(epoch)  # nothing held out: the last epoch is the one kept
            state["history"].append(record)
            if score > state["best_score"] + s.min_delta:
                state.update(
                    best_score=score, best_epoch=epoch, bad_epochs=0, best_model=copy.deepcopy(model.state_dict())
                )
            else:
                state["bad_epochs"] += 1
            state["epoch"] = epoch
            _say(
                comm.rank,
                "epoch %d: train loss %.5f, holdout logloss %s, AUC %s (%.1f s, %.0f rows/s)",
                epoch,
                record["train_loss"],
                _fmt(record.get("holdout_loss")),
                _fmt(record.get("holdout_auc")),
                train_time,
                record["rows_per_second"],
            )
            if comm.rank == 0:
                _save_checkpoint(
                    ckpt_path, {"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state}
                )
            comm.barrier()
        best = state["history"][state["best_epoch"]] if state["best_epoch"] >= 0 else {}
        result = {
            "model": spec.model,
            "workers": comm.size,
            "history": state["history"],
            "best_epoch": state["best_epoch"],
            "best_holdout_loss": best.get("holdout_loss"),
            "best_holdout_auc": best.get("holdout_auc"),
            "early_stopping_metric": s.early_stopping_metric,
            "epochs_run": len(state["history"]),
            "stopped_early": state["bad_epochs"] >= s.patience,
            "base_rate": base_rate,
            "batch_size": batch,
            "steps_per_epoch": steps,
            "train_rows": spec.train.rows,
            "holdout_rows": spec.holdout.rows,
        }
        _write_worker_report(spec.out_dir, comm.rank, model, state, spec.settings.backend)
        if comm.rank == 0:
            if state["best_model"] is not None:
                model.load_state_dict(state["best_model"])
            save_model(model, f"{spec.out_dir}/{MODEL_DIR}")
            storage.write_json(f"{spec.out_dir}/{RESULT}", result)
        comm.barrier()
        return result
    except CtrflowError as e:  # met alike by every rank (a divergence: at the same step): the launcher raises it
        _write_error(spec.out_dir, e)
        return {"model": spec.model, "error": str(e)}
    finally:
        comm.close()


def _write_error(out_dir: str, e: CtrflowError) -> None:
    # every rank may write it: each write replaces the file whole
    storage.write_json(f"{out_dir}/{ERROR}", {"kind": type(e).__name__, "message": str(e)}, indent=None)


def _worker_error(path: str) -> CtrflowError:
    """The user error a worker wrote, as its own class (the launchers do not carry it back as it was)."""
    doc = storage.read_json(path)
    kinds = {cls.__name__: cls for cls in (ConfigError, DataError, TrainingDiverged)}
    return kinds.get(doc["kind"], DataError)(doc["message"])


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.5f}"


def launch(spec: TrainSpec, spark=None) -> dict:
    """Run train_worker on settings.num_workers workers with settings.backend; rank 0's result.json.

    A user error in the workers (a config the model refuses, a loss that exploded: TrainingDiverged) is
    written into out_dir and raised here as its own class, so the job ends with its one line."""
    s = spec.settings
    if spec.base_rate is None:
        spec = dataclasses.replace(spec, base_rate=label_mean(spec.train, spec.features.label))
    if not 0 < spec.base_rate < 1:
        raise DataError(
            f"{spec.train.table} ds {', '.join(spec.train.days)}: positive rate {spec.base_rate:g} "
            f"over {spec.train.rows} training rows; training {spec.model} needs clicks and non-clicks"
        )
    result_path, error_path = f"{spec.out_dir}/{RESULT}", f"{spec.out_dir}/{ERROR}"
    for stale in (result_path, error_path):
        storage.remove(stale)
    storage.remove_tree(f"{spec.out_dir}/workers")
    try:
        _run_backend(spec, spark)
    except Exception:
        if storage.exists(error_path):  # the workers' own error, whatever the launcher made of it
            raise _worker_error(error_path) from None
        raise
    if storage.exists(error_path):
        raise _worker_error(error_path)
    if not storage.exists(result_path):
        raise DataError(f"training {spec.model} with {s.backend} finished without {result_path}")
    return storage.read_json(result_path)


def _run_backend(spec: TrainSpec, spark) -> None:
    s = spec.settings
    if s.backend == "local":
        train_worker(spec, "local")
    elif s.backend == "horovod_spark":
        import horovod.spark

        if spark is None:
            raise DataError("ctr.backend horovod_spark needs a Spark session")
        horovod.spark.run(
            train_worker,
            args=(spec, "horovod"),
            num_proc=s.num_workers,
            use_gloo=True,
            start_timeout=s.start_timeout_s,
            verbose=0,
        )
    elif s.backend == "horovodrun":
        import horovod

        horovod.run(
            train_worker,
            args=(spec, "horovod"),
            np=s.num_workers,
            hosts=f"localhost:{s.num_workers}",
            use_gloo=True,
            start_timeout=s.start_timeout_s,
            verbose=0,
        )
    else:
        from pyspark.ml.torch.distributor import TorchDistributor

        # local_mode: torchrun on the driver's machine; on a cluster master the processes are barrier tasks
        # on the executors, like horovod_spark's
        local = spark is None or spark.sparkContext.master.split("[")[0] == "local"  # not local-cluster[..]
        TorchDistributor(num_processes=s.num_workers, local_mode=local, use_gpu=False).run(train_worker, spec, "ddp")
