"""Build a Faiss index of one day of embeddings, measure its recall, register and publish it.

Reads (id, vector) rows of --ds from --embeddings (a metastore table such as out.two_tower_item_embeddings,
or a Delta/Parquet path), picks the index (--factory, ann.factory, or the automatic choice from rows,
dimension and ann.memory_budget_mb), trains it on a checked sample on the driver, adds the vectors on
executors while checking every one of them in the same scan (an empty day, null ids, null or NaN vectors,
mixed dimensions and duplicate ids are errors, and nothing is registered), merges the shards, measures
recall@k against exact search and the smallest nprobe / efSearch reaching ann.quality.target_recall, and
registers the index with its id map and metadata as a new version of --name (default ann.index_name),
offered to the registry gate on recall_at_k. See docs/ann.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.ann.index_version import build_version
from pipelines.core.names import Name


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    embeddings: str = field(metadata={"help": "table (db.name) or Delta/Parquet path with id, vector, ds"})
    factory: str | None = field(default=None, metadata={"help": "faiss index_factory string (default: automatic)"})
    name: Name | None = field(default=None, metadata={"help": "registry name of the index (default ann.index_name)"})


def run(spark, cfg: Config) -> dict:
    return build_version(
        spark,
        cfg.settings,
        cfg.embeddings,
        cfg.ds,
        factory=cfg.factory,
        name=cfg.name,
        config_hash=cfg.conf.config_hash,
    )


if __name__ == "__main__":
    raise SystemExit(main())
