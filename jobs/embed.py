"""Embed a day's users (or items) with a registered two-tower model's tower into
out.<model>_<tower>_embeddings (id, vector, ds): the queries (or the catalogue) of the day's retrieval.

Reads the ds partition of the model's feature table (feat.<pipeline>, from its lineage, or --table); one
vector per distinct id, the id being the model's `<tower>_key` raw column (e.g. user_id) or else its
indexed id field. The model is the champion as of ds unless --version. See docs/recs.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from jobs.harness import JobConfig, main
from pipelines.common import table_names, tables
from pipelines.core.errors import DataError
from pipelines.core.names import Name, TableName
from pipelines.core.timing import stage
from pipelines.ctr.predict import tower_embeddings
from pipelines.registry.store import Registry


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    model: Name = field(metadata={"help": "registry name of a two-tower model"})
    tower: Literal["user", "item"] = field(default="user", metadata={"help": "user (queries) or item"})
    version: str | None = field(default=None, metadata={"help": "a model version (default: the champion as of --ds)"})
    table: TableName | None = field(default=None, metadata={"help": "feature table (default: the model's)"})


def run(spark, cfg: Config) -> dict:
    reg = Registry.from_settings(cfg.settings)
    mv = reg.for_day(cfg.model, cfg.ds, cfg.version)
    if mv.kind != "two_tower":
        raise DataError(f"{mv.name} {mv.version} is a {mv.kind} model: only two_tower models embed")
    reg.verify(mv)
    source = cfg.table or mv.feature_table()
    day = tables.read_day(spark, source, cfg.ds, f"to embed with {mv.name} {mv.version}")
    conf = mv.config["model"]
    out = table_names.embeddings(cfg.settings, mv.name, cfg.tower)
    with stage(f"embedding the {cfg.tower}s of {source} ds={cfg.ds} with {mv.name} {mv.version} into {out}"):
        vectors = tower_embeddings(
            day, f"{mv.artifacts}/model", cfg.tower, conf[f"{cfg.tower}_id_field"], conf.get(f"{cfg.tower}_key")
        )
        written = tables.write_delta_partition(vectors, out, cfg.ds)
    return {
        "model": mv.name,
        "version": mv.version,
        "tower": cfg.tower,
        "source": source,
        "table": out,
        "rows": written.rows,
        "delta_version": written.version,
    }


if __name__ == "__main__":
    raise SystemExit(main())
