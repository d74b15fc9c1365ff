"""Ingest one day of a declared source (conf/base/sources.yml) into the staged Delta table stg.<source>.

Rows are checked against the source's schema contract; rows that break it go to
stg.<source>_quarantine with the raw line and the reason (never dropped); input = staged + quarantined
is checked; above the source's max_bad_fraction the job fails naming the top reasons (most rows first)
and the run is recorded as rejected. A rerun replaces the day's partitions; every run that commits its
quarantine appends an entry (status, counts, reasons, files not read, schema, stats, sample) to
stg.ingest_catalog. See docs/ingest.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.core.names import Name
from pipelines.ingest.load import ingest_day


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    source: Name = field(metadata={"help": "a source declared in conf/base/sources.yml"})


def run(spark, cfg: Config) -> dict:
    return ingest_day(spark, cfg.settings, cfg.source, cfg.ds, cfg.conf.config_hash)


if __name__ == "__main__":
    raise SystemExit(main())
