"""Say whether a declared source (--source) or a table with ds partitions (--table, e.g. the features an
ann_weekly run trains on) has the day, from metadata, or whether a registered model or index (--model) has a
champion for the day: what the Airflow sensors poll, in a short process of their own so the Airflow worker
never holds a JVM.

Returns {"available": bool, "detail": "..."}; a day not there yet is a normal answer (exit 0), not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import tables
from pipelines.core.errors import ConfigError
from pipelines.core.names import Name, TableName
from pipelines.ingest.sources import partition_available
from pipelines.registry.store import Registry


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    source: Name | None = field(default=None, metadata={"help": "a source declared in conf/base/sources.yml"})
    table: TableName | None = field(default=None, metadata={"help": "a table with a ds column (db.table)"})
    model: Name | None = field(default=None, metadata={"help": "a registry name (model or index)"})

    def validate(self) -> None:
        if sum(x is not None for x in (self.source, self.table, self.model)) != 1:
            raise ConfigError("check_partition: give exactly one of --source, --table and --model")


def run(spark, cfg: Config) -> dict:
    if cfg.model is not None:
        ok, detail = champion_available(Registry.from_settings(cfg.settings), cfg.model, cfg.ds)
        return {"available": ok, "detail": f"model {cfg.model}: {detail}"}
    if cfg.table is not None:
        ok, detail = tables.partition_available(spark, cfg.table, cfg.ds)
        return {"available": ok, "detail": f"table {detail}"}
    ok, detail = partition_available(spark, cfg.settings, cfg.source, cfg.ds)
    return {"available": ok, "detail": f"source {cfg.source}: {detail}"}


def champion_available(reg: Registry, name: str, ds) -> tuple[bool, str]:
    """Whether `name` had a champion on ds (Registry.champion_as_of; not yet is an answer, not an error)."""
    if name not in reg.names():
        return False, "not in the registry yet"
    mv = reg.champion_as_of(name, ds, missing_ok=True)
    if mv is None:
        return False, f"no version published for {ds} or earlier yet"
    return True, f"champion {mv.version} (evaluated on {mv.eval_ds})"


if __name__ == "__main__":
    raise SystemExit(main())
