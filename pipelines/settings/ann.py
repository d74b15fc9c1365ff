"""conf/base/ann.yml: Faiss index builds (job build_index) and batch retrieval (job retrieve).

Pure dataclasses, no heavy imports. Every key is described in docs/ann.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pipelines.core.names import Name


@dataclass(frozen=True, kw_only=True)
class ChoiceSettings:
    """The rules of the automatic index choice (used when `factory` is null)."""

    flat_max_vectors: int = 10_000  # at most this many vectors: exact search (Flat), no training
    hnsw_max_vectors: int = 100_000  # up to this many (and within the budget): HNSW, no training
    hnsw_m: int = 32  # graph degree of HNSW
    max_nlist: int = 65_536  # upper bound of the IVF list count (about 4 * sqrt(n) otherwise)
    min_points_per_list: int = 39  # k-means needs this many training points per list (faiss warns below)

    def validate(self) -> None:
        if self.flat_max_vectors < 0 or self.hnsw_max_vectors < 0:
            raise ValueError("flat_max_vectors and hnsw_max_vectors must be >= 0")
        if self.hnsw_m < 4 or self.max_nlist < 1 or self.min_points_per_list < 1:
            raise ValueError("need hnsw_m >= 4, max_nlist >= 1, min_points_per_list >= 1")


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """Training of the coarse quantizer / PQ on the driver, on a sample drawn with Spark."""

    max_vectors: int = 131_072  # the sample is never larger than this (it is collected to the driver)
    points_per_list: int = 64  # training points wanted per IVF list
    seed: int = 7

    def validate(self) -> None:
        if self.max_vectors < 1 or self.points_per_list < 1:
            raise ValueError("max_vectors and points_per_list must be >= 1")


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    """The distributed add and the merge."""

    add_partitions: int | None = None  # repartition the vectors for the add pass; null = as read
    shards: int = 1  # index shards kept after the merge (HNSW cannot merge: one graph per shard)
    max_shard_mb: int | None = None  # keep more shards when one would be larger than this
    threads_per_task: int | None = None  # faiss OpenMP threads inside one Spark task; null = spark.task.cpus

    def validate(self) -> None:
        if self.add_partitions is not None and self.add_partitions < 1:
            raise ValueError("add_partitions must be >= 1 or null")
        if self.shards < 1 or (self.threads_per_task is not None and self.threads_per_task < 1):
            raise ValueError("shards must be >= 1, threads_per_task >= 1 or null")
        if self.max_shard_mb is not None and self.max_shard_mb < 1:
            raise ValueError("max_shard_mb must be >= 1 or null")


@dataclass(frozen=True, kw_only=True)
class QualitySettings:
    """Recall@k against exact search on a query sample, the tuned search parameter, QPS."""

    k: int = 10
    target_recall: float = 0.95  # the smallest nprobe / efSearch reaching this is kept
    queries: int = 1000  # query sample size (drawn with the training sample)
    ef_search_values: list[int] = field(default_factory=lambda: [16, 32, 64, 128, 256, 512, 1024])

    def validate(self) -> None:
        if self.k < 1 or self.queries < 1:
            raise ValueError("k and queries must be >= 1")
        if not 0 < self.target_recall <= 1:
            raise ValueError("target_recall must be in (0, 1]")
        if not self.ef_search_values or min(self.ef_search_values) < 1:
            raise ValueError("ef_search_values must be a non-empty list of positive integers")


@dataclass(frozen=True, kw_only=True)
class RetrieveSettings:
    """Batch top-k on executors (job retrieve)."""

    k: int = 100
    query_id_col: Name = "id"
    batch_size: int = 4096  # query vectors searched at once

    def validate(self) -> None:
        if self.k < 1 or self.batch_size < 1:
            raise ValueError("k and batch_size must be >= 1")


@dataclass(frozen=True, kw_only=True)
class AnnSettings:
    """What to index and how; `index_name` is the registry name used when the job gets no --name."""

    index_name: Name = "item_index"
    id_col: Name = "id"
    vector_col: Name = "vector"
    metric: Literal["l2", "ip"] = "l2"  # ip: inner product (two-tower dot-product scores)
    factory: str | None = None  # a faiss index_factory string; null = automatic choice
    memory_budget_mb: int = 4096  # the whole index must fit in this (drives the automatic choice)
    choice: ChoiceSettings = field(default_factory=ChoiceSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    build: BuildSettings = field(default_factory=BuildSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    retrieve: RetrieveSettings = field(default_factory=RetrieveSettings)
    publish: bool = True  # offer each new version to the registry gate (metric recall_at_k)

    def validate(self) -> None:
        if self.memory_budget_mb < 1:
            raise ValueError("memory_budget_mb must be >= 1")
