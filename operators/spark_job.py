"""SparkJobOperator: run any ctrflow job for the task's day through spark-submit.

    SparkJobOperator(task_id="ingest", job="ingest", args=["--source", "click_logs"])

runs `spark-submit <profile's master, jars, conf> jobs/ingest.py --ds {{ ds }} --env <env> --source
click_logs`. `ds`, `args`, `env` and `overrides` are templated; the run's conf adds overrides. The
command comes from `operators.hooks.spark_job.job_command` (pure; `command()` shows it for a context)
and runs in `SparkJobHook`; the job's JSON result is the task's XCom. Nothing is read or built in
`__init__`: the scheduler constructs operators at every parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from operators.hooks.spark_job import Launcher, SparkJobHook, job_command, mask_command, sensitive_values
from operators.run_conf import load_settings, resolve


class SparkJobOperator(BaseOperator):
    """Runs `jobs/<job>.py` for `ds` (default the run's `{{ ds }}`) with `args` (the job's own options),
    config `env` and `overrides` (`key=value`, passed as `--set`). `profile` picks a spark.yml profile
    (default: spark.profile of the env); `conn_id` an Airflow Spark connection whose master, deploy mode
    and queue win over the profile's; `launcher="python"` runs `python -m jobs <job>` for jobs that need
    no Spark (publish). `kill_grace_s`: how long a killed task's job gets to stop after SIGTERM."""

    template_fields: Sequence[str] = ("ds", "args", "env", "overrides")
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        job: str,
        ds: str = "{{ ds }}",
        args: Sequence[str] = (),
        env: str | None = None,
        overrides: Sequence[str] = (),
        profile: str | None = None,
        conn_id: str | None = None,
        launcher: Launcher = "spark-submit",
        spark_submit: str | None = None,
        env_vars: dict[str, str] | None = None,
        kill_grace_s: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.ds = ds
        self.args = list(args)
        self.env = env
        self.overrides = list(overrides)
        self.profile = profile
        self.conn_id = conn_id
        self.launcher = launcher
        self.spark_submit = spark_submit
        self.env_vars = env_vars
        self.kill_grace_s = kill_grace_s
        self._hook: SparkJobHook | None = None

    def command(self, context: Any = None, connection: dict | None = None) -> list[str]:
        """The argv this task runs (templates must be rendered already)."""
        env, overrides = resolve(context, self.env, self.overrides)
        settings = load_settings(env, overrides)
        conn = connection or {}
        return job_command(
            settings,
            self.job,
            self.ds,
            env=env,
            args=self.args,
            overrides=overrides,
            profile=self.profile,
            launcher=self.launcher,
            spark_submit=self.spark_submit,
            master=conn.get("master"),
            deploy_mode=conn.get("deploy_mode"),
            queue=conn.get("queue"),
        )

    def execute(self, context: Any) -> dict:
        from airflow.sdk.log import mask_secret

        self._hook = SparkJobHook(self.conn_id, env_vars=self.env_vars, kill_grace_s=self.kill_grace_s)
        cmd = self.command(context, self._hook.connection)
        for secret in sensitive_values(cmd):
            mask_secret(secret)
        self.log.info("running job %s for ds=%s: %s", self.job, self.ds, mask_command(cmd))
        result = self._hook.run(cmd)
        self.log.info(
            "job %s ds=%s finished: %s", self.job, self.ds, ", ".join(f"{k}={v}" for k, v in list(result.items())[:8])
        )
        return result

    def on_kill(self) -> None:
        if self._hook is not None:
            self._hook.on_kill()
