"""What every ctrflow operator resolves at run time: the config env and overrides of this run.

A DAG run's conf may carry {"env": "...", "overrides": ["key=value", ...]}: they are added to the
operator's own (a test or a one-off run on tiny data), so the same DAG runs anywhere unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from pipelines.core.errors import ConfigError


def run_conf(context: Any) -> dict:
    dag_run = context.get("dag_run") if context else None
    conf = getattr(dag_run, "conf", None) or {}
    if not isinstance(conf, dict):
        raise ConfigError(f"dag run conf must be a mapping, got {type(conf).__name__}")
    return conf


# What a triggered run's conf may override: model, training and threshold keys. Never Spark settings,
# paths, project.*, sources (paths), the interpreter or jars (spark-submit binary, profile, connection).
RUN_CONF_PREFIXES = (
    "synth.",
    "features.",
    "models.",
    "gbdt.",
    "ctr.",
    "ann.",
    "registry.gate.",
    "dags.ctr_daily.quality.",
)
RUN_CONF_REFUSED = ("ctr.checkpoint_dir",)  # a path, under an allowed prefix


class RunConfError(ConfigError, AirflowFailException):
    """A run conf the task refuses: a configuration error (exit 2 family) that Airflow does not retry."""


def check_run_conf_override(item: str) -> str:
    """`item` (`key=value`) if a triggered run may set that key, else RunConfError naming the key."""
    key = item.partition("=")[0].strip()
    if key in RUN_CONF_REFUSED or not key.startswith(RUN_CONF_PREFIXES):
        raise RunConfError(
            f"dag run conf overrides: '{key}' may not be set by a triggered run (allowed: "
            f"{', '.join(p + '*' for p in RUN_CONF_PREFIXES)}; not {', '.join(RUN_CONF_REFUSED)})"
        )
    return item


def resolve(context: Any, env: str | None, overrides: Sequence[str]) -> tuple[str, list[str]]:
    """(env, overrides) for a task: the run conf's env wins; its overrides come after the operator's. The
    run conf's env must be a plain overlay name and its overrides keys of RUN_CONF_PREFIXES
    (RunConfError, not retried, otherwise); the operator's own (from the DAG file) are trusted."""
    from pipelines.common.config import DEFAULT_ENV, check_env_name

    conf = run_conf(context)
    extra = conf.get("overrides", [])
    if isinstance(extra, str) or not isinstance(extra, list | tuple) or not all(isinstance(o, str) for o in extra):
        raise RunConfError(f"dag run conf 'overrides' must be a list of 'key=value' strings, got {extra!r}")
    for item in extra:
        check_run_conf_override(item)
    run_env = conf.get("env")
    if run_env is not None:
        if not isinstance(run_env, str):
            raise RunConfError(f"dag run conf 'env' must be an overlay name, got {run_env!r}")
        try:
            check_env_name(run_env)
        except ConfigError as e:
            raise RunConfError(f"dag run conf env: {e}") from None
    return run_env or env or DEFAULT_ENV, [*overrides, *extra]


def load_settings(env: str, overrides: Sequence[str]):
    from pipelines.common.config import load

    return load(env, overrides).settings


def run_check(cmd: Sequence[str], timeout_s: float) -> dict:
    """Run a check job (`check_command`) through the job hook: its result line is the answer; its error
    line, or a timeout, raises."""
    from operators.hooks.spark_job import SparkJobHook

    return SparkJobHook(timeout_s=timeout_s).run(list(cmd))
