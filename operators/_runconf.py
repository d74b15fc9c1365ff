"""What every ctrflow operator resolves at run time: the config env and overrides of this run.

A DAG run's conf may carry {"env": "...", "overrides": ["key=value", ...]}: they are added to the
operator's own (a test or a one-off run on tiny data), so the same DAG runs anywhere unchanged.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.common.errors import ConfigError

_ROOT = Path(__file__).resolve().parents[1]  # `python -m operators.probe` resolves from here


def run_conf(context: Any) -> dict:
    dag_run = context.get("dag_run") if context else None
    conf = getattr(dag_run, "conf", None) or {}
    if not isinstance(conf, dict):
        raise ConfigError(f"dag run conf must be a mapping, got {type(conf).__name__}")
    return conf


def resolve(context: Any, env: str | None, overrides: Sequence[str]) -> tuple[str, list[str]]:
    """(env, overrides) for a task: the run conf's env wins; its overrides come after the operator's."""
    from pipelines.common.config import DEFAULT_ENV

    conf = run_conf(context)
    extra = conf.get("overrides", [])
    if isinstance(extra, str) or not all(isinstance(o, str) for o in extra):
        raise ConfigError(f"dag run conf 'overrides' must be a list of 'key=value' strings, got {extra!r}")
    return conf.get("env") or env or DEFAULT_ENV, [*overrides, *extra]


def load_settings(env: str, overrides: Sequence[str]):
    from pipelines.common.config import load

    return load(env, overrides).settings


def run_probe(cmd: Sequence[str], timeout_s: float) -> dict:
    """Run an `operators.probe` command; its last stdout line is the JSON answer."""
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout_s, cwd=_ROOT)
    except subprocess.TimeoutExpired as e:
        raise TimeoutError(f"probe did not answer in {timeout_s:.0f} s: {' '.join(cmd[2:6])}") from e
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"probe failed (exit {done.returncode}): {tail}")
    return parse_probe_output(done.stdout)


def parse_probe_output(stdout: str) -> dict:
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"probe printed no JSON answer: {stdout[-300:]!r}")
    return json.loads(lines[-1])
