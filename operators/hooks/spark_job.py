"""Run a ctrflow job as a process: the command builder (pure) and the hook that runs it.

`job_command` turns (settings, job, ds, options) into the argv of `spark-submit ... jobs/<job>.py --ds ...`
(or `python -m jobs <job> ...` for jobs that need no Spark) with the profile's master, jars and conf
from `pipelines.common.submit`; tests assert on the list without running anything. `SparkJobHook` is
the Spark provider's SparkSubmitHook with that command: it keeps the provider's process handling
(streamed and masked logs, YARN / Kubernetes / standalone driver ids, remote kills) and adds what a
ctrflow job needs: the job's JSON result read from its log, its one-line error as the exception,
no retry for a configuration error (exit 2) or a gate refusal (exit 3), and a kill that ends the whole
process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook, _mask_sensitive_values
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from pipelines.common.config import PROJECT_ROOT
from pipelines.core import protocol
from pipelines.core.errors import ConfigError, GateRefused
from pipelines.core.names import is_secret_key, mask_assignment

Launcher = Literal["spark-submit", "python"]

# Exits a retry cannot change: a config error (ConfigError, RegistryDamaged) and a gate refusal (GateRefused)
NO_RETRY_EXITS = {ConfigError.exit_code, GateRefused.exit_code}


def default_spark_submit() -> str:
    """The spark-submit of the running environment (the virtualenv's pyspark), else the one on PATH."""
    beside = Path(sys.executable).parent / "spark-submit"
    return str(beside) if beside.exists() else "spark-submit"


def spark_env(binary: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Environment a pip-installed `spark-submit` needs when it is not on PATH's first python: that script
    finds SPARK_HOME by running `python3` (or PYSPARK_DRIVER_PYTHON) with pyspark importable, which fails
    when the virtualenv is not activated (Airflow started as `.venv/bin/airflow`). For the spark-submit
    beside this interpreter, SPARK_HOME is this interpreter's pyspark; a SPARK_HOME already set wins."""
    environ = os.environ if environ is None else environ
    path = Path(binary)
    if (
        environ.get("SPARK_HOME")
        or path.parent != Path(sys.executable).parent
        or not (path.parent / "find_spark_home.py").exists()
    ):
        return {}
    import pyspark

    return {"SPARK_HOME": str(Path(pyspark.__file__).parent)}


def job_args(ds: str, env: str, args: Sequence[str] = (), overrides: Sequence[str] = ()) -> list[str]:
    """The job's own command line: `--ds D --env E [--set k=v ...] [args ...]`."""
    out = ["--ds", str(ds), "--env", env]
    for item in overrides:
        out += ["--set", str(item)]
    return out + [str(a) for a in args]


def job_command(
    settings,
    job: str,
    ds: str,
    *,
    env: str,
    args: Sequence[str] = (),
    overrides: Sequence[str] = (),
    profile: str | None = None,
    launcher: Launcher = "spark-submit",
    spark_submit: str | None = None,
    master: str | None = None,
    deploy_mode: str | None = None,
    queue: str | None = None,
    python: str | None = None,
) -> list[str]:
    """The argv that runs `job` for `ds`. `master` / `deploy_mode` / `queue` (from an Airflow connection)
    override the profile's; `settings` must be loaded with the same env and overrides as the job."""
    argv = job_args(ds, env, args, overrides)
    if launcher == "python":
        return [python or sys.executable, "-m", "jobs", job, *argv]
    from pipelines.common.spark import app_name
    from pipelines.common.submit import spark_submit_command

    extra = {"spark.app.name": app_name(settings, job, ds)} | {
        k: v
        for k, v in (("spark.master", master), ("spark.submit.deployMode", deploy_mode), ("spark.yarn.queue", queue))
        if v
    }
    return spark_submit_command(
        settings, job, argv, profile=profile, spark_submit=spark_submit or default_spark_submit(), extra_conf=extra
    )


def check_command(
    kind: str, ds: str, *, env: str, overrides: Sequence[str] = (), python: str | None = None, **options: str
) -> list[str]:
    """The argv of a check job (`check_partition`, `check_quality`: metadata the sensor and the data-quality
    operator read) with the python launcher: a short process, no spark-submit, no connection."""
    args = [x for key, value in options.items() for x in (f"--{key.replace('_', '-')}", str(value))]
    return job_command(
        None, f"check_{kind}", ds, env=env, args=args, overrides=overrides, launcher="python", python=python
    )


def mask_command(cmd: Sequence[str]) -> str:
    """The command as one line with the values of secret-looking keys masked: `key=value` items whose key
    looks secret (pipelines.core.names.is_secret_key: `fs.azure.account.key.*`, `*secret*`, `*token*`,
    ...), and what the Spark provider masks (`... password x`)."""
    return _mask_sensitive_values(" ".join(mask_assignment(str(item)) for item in cmd))


def sensitive_values(cmd: Sequence[str]) -> list[str]:
    """Values of `key=value` items whose key looks secret: registered with Airflow's log masker."""
    out = []
    for item in cmd:
        key, sep, value = item.partition("=")
        if sep and value and is_secret_key(key):
            out.append(value)
    return out


def _option(cmd: Sequence[str], flag: str) -> str | None:
    return cmd[cmd.index(flag) + 1] if flag in cmd and cmd.index(flag) + 1 < len(cmd) else None


class SparkJobHook(SparkSubmitHook):
    """Runs one prepared job command. Without `conn_id` no Airflow connection is read: the command's own
    `--master` (the profile's) is the master; with one, its master / deploy mode / queue are used by
    `job_command` (read them from `connection`)."""

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        env_vars: dict[str, str] | None = None,
        kill_grace_s: float = 10.0,
        timeout_s: float | None = None,
    ) -> None:
        self._use_connection = bool(conn_id)
        self._command: list[str] = []
        self.result: dict[str, Any] | None = None
        self.error_line: str | None = None
        self.kill_grace_s = kill_grace_s
        self.timeout_s = timeout_s
        self.timed_out = False
        super().__init__(conn_id=conn_id or "", env_vars=env_vars, name="ctrflow")
        self._env = dict(env_vars) if env_vars else None

    @property
    def connection(self) -> dict[str, Any]:
        """master, deploy_mode, queue, ... of the Airflow connection (empty without conn_id)."""
        return dict(self._connection) if self._use_connection else {}

    def _resolve_connection(self) -> dict[str, Any]:
        if self._use_connection:
            return super()._resolve_connection()
        return {
            "master": "",
            "queue": None,
            "deploy_mode": None,
            "spark_binary": "spark-submit",
            "namespace": None,
            "principal": None,
            "keytab": None,
            "rest_scheme": "http",
            "rest_port": 6066,
            "rest_endpoint": None,
        }

    def _build_spark_submit_command(self, application: str) -> list[str]:
        self.log.info("ctrflow job command: %s", mask_command(self._command))
        return list(self._command)

    def _process_spark_submit_log(self, itr: Iterator[Any]) -> None:
        super()._process_spark_submit_log(self._watch(itr))

    def _watch(self, itr: Iterator[Any]) -> Iterator[Any]:
        """Pass the output through, remembering the job's result JSON and its one-line error."""
        for line in itr:
            text = line.strip()
            try:
                result = protocol.parse_result(text)
            except ValueError:
                self.log.warning("unreadable result line: %s", text[:200])
                result = None
            if result is not None:
                self.result = result
            elif protocol.is_error_line(text):
                self.error_line = _mask_sensitive_values(text)
            yield line

    def run(self, command: Sequence[str]) -> dict[str, Any]:
        """Run the command to the end; returns the job's result. A failure raises with the job's own error
        line; a configuration error (exit 2) or a gate refusal (exit 3) raises AirflowFailException so that
        Airflow does not retry."""
        self._command = list(command)
        self.result, self.error_line = None, None
        self._connection["spark_binary"] = self._command[0]
        extra_env = spark_env(self._command[0], {**os.environ, **(self._env or {})})
        if extra_env:
            self._env = {**(self._env or {}), **extra_env}
        if not self._use_connection:
            self._connection["master"] = _option(self._command, "--master") or ""
            self._connection["deploy_mode"] = None
            self._is_yarn = "yarn" in self._connection["master"]
            self._is_kubernetes = "k8s" in self._connection["master"]
        self.timed_out = False
        timer = threading.Timer(self.timeout_s, self._time_out) if self.timeout_s else None
        try:
            if timer:
                timer.daemon = True
                timer.start()
            # its own session: on_kill can end spark-submit, the JVM and the Python driver under it together;
            # from the project root, where `python -m jobs` resolves whatever the worker's directory
            self.submit(start_new_session=True, cwd=str(PROJECT_ROOT))
        except AirflowException as e:
            if self.timed_out:
                raise TimeoutError(
                    f"{mask_command(self._command[2:6])} did not finish in {self.timeout_s:.0f} s "
                    "(its process group was ended)"
                ) from e
            code = self._submit_sp.returncode if self._submit_sp is not None else None
            if self.error_line is None:
                raise
            message = f"{self.error_line} (exit {code})"
            if code in NO_RETRY_EXITS:
                raise AirflowFailException(message) from e
            raise AirflowException(message) from e
        finally:
            if timer:
                timer.cancel()
        return self.result or {}

    def _time_out(self) -> None:
        self.timed_out = True
        self.on_kill()

    def on_kill(self) -> None:
        """Stop the job: cluster-side driver / application first (the provider's kill), then the local
        process group, politely (SIGTERM) and after `kill_grace_s` for good (SIGKILL)."""
        sp = self._submit_sp
        if self._connection.get("deploy_mode") == "cluster":
            super().on_kill()
        if sp is None or sp.poll() is not None:
            return
        self.log.info("terminating job process group %s: %s", sp.pid, mask_command(self._command)[:200])
        terminate_group(sp, self.kill_grace_s)


def terminate_group(sp: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM to the process group of `sp` (started with start_new_session), SIGKILL after grace_s."""
    try:
        pgid = os.getpgid(sp.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if sp.poll() is not None and not _group_alive(pgid):
                return
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
