"""Say whether a declared source (--source) or a table with ds partitions (--table, e.g. the features an
ann_weekly run trains on) has the day, from metadata: what the Airflow partition sensors poll, in a short
process of their own so the Airflow worker never holds a JVM.

Returns {"available": bool, "detail": "..."}; a day not there yet is a normal answer (exit 0), not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import tables
from pipelines.core.errors import ConfigError
from pipelines.core.names import Name, TableName
from pipelines.ingest.sources import partition_available


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    source: Name | None = field(default=None, metadata={"help": "a source declared in conf/base/sources.yml"})
    table: TableName | None = field(default=None, metadata={"help": "a table with a ds column (db.table)"})

    def validate(self) -> None:
        if (self.source is None) == (self.table is None):
            raise ConfigError("check_partition: give exactly one of --source and --table")


def run(spark, cfg: Config) -> dict:
    if cfg.table is not None:
        ok, detail = tables.partition_available(spark, cfg.table, cfg.ds)
        return {"available": ok, "detail": f"table {detail}"}
    ok, detail = partition_available(spark, cfg.settings, cfg.source, cfg.ds)
    return {"available": ok, "detail": f"source {cfg.source}: {detail}"}


if __name__ == "__main__":
    raise SystemExit(main())
