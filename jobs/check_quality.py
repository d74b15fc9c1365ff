"""Read a day's data-quality metrics: the source's last staged ingest (counts, quarantine reasons) and the
per-feature PSI of a feature pipeline on the day. What the Airflow data-quality operator judges; it runs
as a short process of its own so the Airflow worker never holds a JVM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.core.names import Name
from pipelines.features.day_quality import day_quality


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    source: Name = field(metadata={"help": "a source declared in conf/base/sources.yml"})
    pipeline: Name = field(metadata={"help": "the feature pipeline whose PSI of the day is read"})


def run(spark, cfg: Config) -> dict:
    return day_quality(spark, cfg.settings, cfg.source, cfg.pipeline, cfg.ds)


if __name__ == "__main__":
    raise SystemExit(main())
