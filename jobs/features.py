"""Build features of one day: fit (--fit) or load a feature pipeline and write feat.<pipeline> for --ds.

The pipeline is conf/base/features/<pipeline>.yml (keys overridable with --set
features.<pipeline>.<key>=value), validated against stg.<source> before any data is read; --source
runs it on another declared source than its file's `source:`. --fit fits it on the training window
(train_days ending at --ds) and saves a new version (PipelineModel + metadata + feature_map.json) under
<state>/features/<pipeline>/; without --fit the version as of --ds is loaded (the one fitted for the
greatest day on or before --ds, artifacts.version_as_of; the result's model_version names it). The day
is transformed into feat.<pipeline> (Delta, ds partition replaced atomically): the label, the `keep:`
columns, the features. Per-feature statistics go to feat.<pipeline>_stats with the PSI against the training window,
and features that moved are listed. --sample F / --limit N: debug mode, stage by stage on a sample,
nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.harness import JobConfig, main
from pipelines.common import config
from pipelines.core.names import Name
from pipelines.features import artifacts, flow
from pipelines.features.debug import run_debug


@dataclass(frozen=True, kw_only=True)
class Config(JobConfig):
    pipeline: Name = field(metadata={"help": "a pipeline in conf/base/features/<name>.yml"})
    source: Name | None = field(
        default=None,
        metadata={
            "help": "a source of sources.yml to read (stg.<source>) instead of the pipeline's `source:`; "
            "a version fitted on another source is refused (refit with --fit)"
        },
    )
    fit: bool = field(default=False, metadata={"help": "fit on the training window and publish a new version"})
    sample: float | None = field(default=None, metadata={"help": "debug mode on this fraction of the rows"})
    limit: int | None = field(default=None, metadata={"help": "debug mode on the first N rows"})

    def validate(self) -> None:
        if not config.named_exists("features", self.pipeline, self.conf.env):
            known = config.known_named("features")
            raise ValueError(
                f"--pipeline {self.pipeline}: no features named '{self.pipeline}' in conf/base/features "
                f"(known: {', '.join(known) or 'none'})"
            )
        if self.source is not None and self.source not in self.settings.sources.sources:
            raise ValueError(
                f"--source {self.source}: not a source declared in sources.yml "
                f"({', '.join(sorted(self.settings.sources.sources))})"
            )
        if self.sample is not None and not 0 < self.sample <= 1:
            raise ValueError(f"--sample must be in (0, 1], got {self.sample}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be positive, got {self.limit}")
        if self.sample is not None and self.limit is not None:
            raise ValueError("--sample and --limit: choose one")


def debug(spark, cfg: Config, plan) -> dict:
    source = flow.source_table(cfg.settings, plan)
    has_model = any(
        v.ds is not None and v.ds <= cfg.ds.isoformat() for v in artifacts.fitted_versions(cfg.settings, plan.name)
    )
    fitted = None if cfg.fit or not has_model else flow.load_as_of(spark, cfg.settings, plan, cfg.ds)
    days = [cfg.ds] if fitted else flow.training_window(cfg.ds, plan.spec.train_days)
    df = flow.read_days(spark, source, days, None)
    df = df.sample(fraction=cfg.sample, seed=7) if cfg.sample is not None else df.limit(cfg.limit)
    report = run_debug(plan, df, fitted.model.stages if fitted else None)
    return {"debug": True, "model_version": fitted.version if fitted else "fitted on the sample", "stages": report}


def run(spark, cfg: Config) -> dict:
    plan = flow.load_plan(
        spark,
        cfg.settings,
        cfg.pipeline,
        cfg.conf.env,
        overrides=cfg.conf.named_overrides("features", cfg.pipeline),
        source=cfg.source,
    )
    if cfg.sample is not None or cfg.limit is not None:
        return debug(spark, cfg, plan)
    if cfg.fit:
        fitted, train = flow.fit(spark, cfg.settings, plan, cfg.ds, cfg.conf.config_hash)
    else:
        fitted, train = flow.load_as_of(spark, cfg.settings, plan, cfg.ds), None
    return {
        "pipeline": plan.name,
        "source": plan.spec.source,
        "fitted": cfg.fit,
        **flow.transform_day(spark, cfg.settings, plan, fitted, cfg.ds, train),
    }


if __name__ == "__main__":
    raise SystemExit(main())
