"""conf/base/ctr.yml: how deep CTR models are trained (job train_ctr). Pure dataclasses, no heavy imports.

The models' own hyper-parameters are in conf/base/models/<name>.yml (pipelines.ctr.models)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BACKENDS = ("horovod_spark", "horovodrun", "torch_distributor", "local")


@dataclass(frozen=True, kw_only=True)
class CtrSettings:
    pipeline: str = "ctr_default"  # feat.<pipeline> and its feature_map.json
    train_days: int = 2  # days before --ds used for training (those that exist); --ds is the validation day
    min_train_days: int = 1
    # horovod_spark: horovod.spark.run (gloo) on Spark tasks | horovodrun: horovod.run, processes on this
    # machine, no Spark | torch_distributor: pyspark's TorchDistributor (DDP, gloo) | local: one process
    backend: Literal["horovod_spark", "horovodrun", "torch_distributor", "local"] = "horovod_spark"
    num_workers: int = 2
    threads_per_worker: int = 1  # torch intra-op threads of each worker
    epochs: int = 3
    batch_size: int = 2048  # per worker
    shuffle_buffer: int = 100_000  # rows each worker shuffles in memory (bounded; files/row groups are shuffled too)
    read_batch_rows: int = 16_384  # Arrow record batch size when reading Parquet
    patience: int = 1  # stop after this many epochs without a validation AUC gain above min_delta
    min_delta: float = 0.0
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
