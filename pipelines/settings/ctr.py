"""conf/base/ctr.yml: how deep CTR models are trained (job train_ctr). Pure dataclasses, no heavy imports.

The models' own hyper-parameters are in conf/base/models/<name>.yml (pipelines.ctr.models)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipelines.core.names import Name

BACKENDS = ("horovod_spark", "horovodrun", "torch_distributor", "local")


@dataclass(frozen=True, kw_only=True)
class CtrSettings:
    pipeline: Name = "ctr_default"  # feat.<pipeline> and its feature_map.json
    train_days: int = 2  # days before --ds used for training (those that exist); --ds is scored only after training
    min_train_days: int = 1
    # horovod_spark: horovod.spark.run (gloo) on Spark tasks | horovodrun: horovod.run, processes on this
    # machine, no Spark | torch_distributor: pyspark's TorchDistributor (DDP, gloo) | local: one process
    backend: Literal["horovod_spark", "horovodrun", "torch_distributor", "local"] = "horovod_spark"
    num_workers: int = 2
    threads_per_worker: int = 1  # torch intra-op threads of each worker
    epochs: int = 8  # at most; early stopping on the holdout slice may end sooner
    # per-worker batch: batch_size on a large window; on a small one smaller, so that an epoch still takes
    # min_steps_per_epoch optimizer steps per worker, but never below min_batch_size (nor above batch_size)
    batch_size: int = 2048
    min_batch_size: int = 64
    min_steps_per_epoch: int = 100
    # the last rows of every row group of the training window (this share of it) are held out of training:
    # early stopping and the best epoch are chosen on them, never on --ds (which is reported and gated on)
    holdout_fraction: float = 0.1
    early_stopping_metric: Literal["logloss", "auc"] = "logloss"  # of the holdout slice
    shuffle_buffer: int = 100_000  # rows each worker shuffles in memory (bounded; files/row groups are shuffled too)
    read_batch_rows: int = 16_384  # Arrow record batch size when reading Parquet
    # reader threads per worker decoding row groups in parallel (at most this many decoded ahead of training:
    # memory ~ shuffle_buffer + read_threads row groups); 0 decodes in the training thread, a batch at a time
    read_threads: int = 2
    patience: int = 1  # stop after this many epochs without a holdout gain above min_delta
    min_delta: float = 0.0
    # loss-explosion guard: every loss_guard_every steps the workers together check the mean training loss
    # of the last loss_guard_steps steps; non-finite, or above loss_guard_factor x the entropy of the
    # window's positive rate (the loss of predicting the base rate), stops the run with an error
    loss_guard_factor: float = 3.0
    loss_guard_steps: int = 20
    loss_guard_every: int = 10
    checkpoint_dir: str | None = None  # a directory all workers see; default <state>/ctr/checkpoints
    log_every_steps: int = 500
    start_timeout_s: int = 300  # horovod: how long to wait for the workers to start
    export_embeddings: bool = True  # two_tower: write out.<model>_user_embeddings / _item_embeddings
    seed: int = 7

    def validate(self) -> None:
        if self.train_days < 1 or not 1 <= self.min_train_days <= self.train_days:
            raise ValueError("need train_days >= 1 and 1 <= min_train_days <= train_days")
        if self.num_workers < 1 or self.threads_per_worker < 1 or self.epochs < 1:
            raise ValueError("num_workers, threads_per_worker and epochs must be >= 1")
        if self.batch_size < 1 or self.shuffle_buffer < 0 or self.read_batch_rows < 1 or self.patience < 1:
            raise ValueError("batch_size >= 1, shuffle_buffer >= 0, read_batch_rows >= 1, patience >= 1")
        if not 0 <= self.read_threads <= 64:
            raise ValueError(f"read_threads must be in [0, 64] (0: no reader threads), got {self.read_threads}")
        if self.min_batch_size < 1 or self.min_steps_per_epoch < 1:
            raise ValueError("min_batch_size and min_steps_per_epoch must be >= 1")
        if not 0 <= self.holdout_fraction < 0.5:
            raise ValueError("holdout_fraction must be in [0, 0.5) (0: no holdout, no early stopping)")
        if self.loss_guard_factor <= 1 or self.loss_guard_steps < 1 or self.loss_guard_every < 1:
            raise ValueError("loss_guard_factor > 1, loss_guard_steps >= 1 and loss_guard_every >= 1 are required")
