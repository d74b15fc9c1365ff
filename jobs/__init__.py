"""ctrflow's jobs: one thin module per spark-submit-able entry point.

A job module has a docstring (its first line is the `--help` summary), a `Config` dataclass
(subclass of `JobConfig`, one field per command-line option) and `run(spark, cfg) -> dict`, and ends
with `if __name__ == "__main__": raise SystemExit(main())` so that `spark-submit jobs/<name>.py`
works. Every module here not starting with `_` is a job: adding a file registers it.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

_NOT_JOBS = {"cli"}


def job_names() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not m.name.startswith("_") and m.name not in _NOT_JOBS
    )


def load_job(name: str) -> ModuleType:
    from pipelines.common.errors import ConfigError

    if name not in job_names():
        raise ConfigError(f"unknown job '{name}' (jobs: {', '.join(job_names())})")
    return importlib.import_module(f"jobs.{name}")
