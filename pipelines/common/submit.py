"""The spark-submit command for a job under a profile: a pure function, asserted on in tests.

Under spark-submit the driver JVM starts before any Python runs, so whatever must be on the driver's
classpath or JVM options (the Delta jars, the Derby location) has to be on the command line; this
builds it from the same profile the in-process session factory uses. The Airflow operator runs it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from pipelines.common.config import PROJECT_ROOT
from pipelines.common.spark import session_conf
from pipelines.settings import Settings

_FLAGS = {"spark.master": "--master", "spark.app.name": "--name", "spark.jars": "--jars"}


def spark_submit_command(
    settings: Settings,
    job: str,
    job_args: Sequence[str],
    profile: str | None = None,
    spark_submit: str = "spark-submit",
    extra_conf: dict[str, str] | None = None,
) -> list[str]:
    """`spark-submit [--master M] [--name N] [--jars J] --conf k=v ... jobs/<job>.py <job_args>`."""
    conf = {**session_conf(settings, profile), **(extra_conf or {})}
    cmd = [spark_submit]
    for key, flag in _FLAGS.items():
        if key in conf:
            cmd += [flag, conf.pop(key)]
    for key in sorted(conf):
        cmd += ["--conf", f"{key}={conf[key]}"]
    cmd.append(os.path.join(str(PROJECT_ROOT), "jobs", f"{job}.py"))
    return cmd + list(job_args)
