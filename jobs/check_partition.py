"""Say whether a declared source has the day (metadata only, no data read): what the Airflow partition
sensor polls, in a short process of its own so the Airflow worker never holds a JVM.

Returns {"available": bool, "detail": "..."}; a day not there yet is a normal answer (exit 0), not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.core.names import Name
from pipelines.ingest.sources import partition_available


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    source: Name = field(metadata={"help": "a source declared in conf/base/sources.yml"})


def run(spark, cfg: Config) -> dict:
    ok, detail = partition_available(spark, cfg.settings, cfg.source, cfg.ds)
    return {"available": ok, "detail": f"source {cfg.source}: {detail}"}


if __name__ == "__main__":
    raise SystemExit(main())
