"""ctrflow's jobs: one thin module per spark-submit-able entry point.

A job module has a docstring (its first line is the `--help` summary), a `Config` dataclass
(subclass of `JobConfig`, one field per command-line option) and `run(spark, cfg) -> dict`, and ends
with `if __name__ == "__main__": raise SystemExit(main())` so that `spark-submit jobs/<name>.py`
works. Every module here not starting with `_` is a job (but `cli`, the `ctrflow` command, and `harness`,
what runs every job): adding a file registers it (the plugin rule of
pipelines/core/plugins.py, which the feature stages and CTR models follow too).
"""

from __future__ import annotations

from types import ModuleType

from pipelines.core.plugins import Plugins

_JOBS: Plugins[ModuleType] = Plugins("job", __name__, skip={"cli", "harness"})


def job_names() -> list[str]:
    return _JOBS.module_names()


def load_job(name: str) -> ModuleType:
    from pipelines.core.errors import ConfigError

    if name not in job_names():
        raise ConfigError(f"unknown job '{name}' (jobs: {', '.join(job_names())})")
    return _JOBS.module(name)
