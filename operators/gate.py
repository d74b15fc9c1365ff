"""ModelGateOperator: branch to the publish task only when the registry gate accepts the day's candidate.

The candidate is the version the training task `candidate_task_id` returned (its XCom {"version": ...}),
or without one the newest version of `model` evaluated on the run's day (`Registry.candidate`: what the
day's training registered). `Registry.evaluate_gate` decides without side effects and without Spark; the decision is
logged and pushed as XCom `decision` (the publish task pins `--version` to its candidate, so what is
published is what was judged). Retrying is safe: once published, the candidate is the champion and
the gate answers "already the champion" -> skip. A refusal while the model has no champion at all
(the first candidate fails the gate's floors) follows neither branch: there is nothing to score the day
with, so the downstream score task is skipped too instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from airflow.sdk.bases.branch import BaseBranchOperator

from operators.run_conf import load_settings, resolve


class ModelGateOperator(BaseBranchOperator):
    template_fields: Sequence[str] = ("ds", "env", "overrides")
    ui_color = "#eafaea"

    def __init__(
        self,
        *,
        model: str,
        publish_task_id: str,
        skip_task_id: str,
        ds: str = "{{ ds }}",
        env: str | None = None,
        overrides: Sequence[str] = (),
        metric: str | None = None,
        candidate_task_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.publish_task_id = publish_task_id
        self.skip_task_id = skip_task_id
        self.ds = ds
        self.env = env
        self.overrides = list(overrides)
        self.metric = metric
        self.candidate_task_id = candidate_task_id

    def trained_version(self, context: Any) -> str | None:
        """The version the training task registered (its XCom), None without one."""
        ti = context.get("ti") if context and self.candidate_task_id else None
        result = ti.xcom_pull(task_ids=self.candidate_task_id) if ti is not None else None
        return result.get("version") if isinstance(result, dict) else None

    def decide(self, context: Any = None) -> dict:
        """The gate's decision on the day's candidate, as a plain dict."""
        from pipelines.registry.store import Registry

        env, overrides = resolve(context, self.env, self.overrides)
        reg = Registry.from_settings(load_settings(env, overrides))
        cand = reg.candidate(self.model, self.ds, self.trained_version(context))
        return asdict(reg.evaluate_gate(self.model, cand.version, self.metric))

    def choose_branch(self, context: Any) -> str | None:
        decision = self.decide(context)
        context["ti"].xcom_push(key="decision", value=decision)
        accepted = decision["accepted"]
        self.log.info(
            "gate %s for %s %s: %s",
            "ACCEPTED" if accepted else "refused",
            self.model,
            decision["candidate"],
            decision["reason"],
        )
        if accepted:
            return self.publish_task_id
        if decision["champion"] is None:
            self.log.warning("%s has no champion to score with: publish and scoring are skipped", self.model)
            return None
        return self.skip_task_id


def gate_and_publish(model: str, candidate_task_id: str, jobs: dict, metric: str | None = None) -> list:
    """Inside a `TaskGroup(group_id=model)`: the gate, and the publish / skip_publish branches it chooses
    between; returns [gate, publish, skip]. What a DAG's models and indices are promoted with (`jobs`: the
    keyword arguments of its SparkJobOperators, env and overrides included)."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    from operators.spark_job import SparkJobOperator

    gate = ModelGateOperator(
        task_id="gate",
        model=model,
        publish_task_id=f"{model}.publish",
        skip_task_id=f"{model}.skip_publish",
        candidate_task_id=candidate_task_id,
        metric=metric,
        env=jobs["env"],
        overrides=jobs["overrides"],
    )
    version = f"{{{{ ti.xcom_pull(task_ids='{model}.gate', key='decision')['candidate'] }}}}"
    publish = SparkJobOperator(
        task_id="publish",
        job="publish",
        launcher="python",
        args=["--model", model, "--require-accept", *(["--metric", metric] if metric else []), "--version", version],
        **jobs,
    )
    skip = EmptyOperator(task_id="skip_publish")
    gate >> [publish, skip]
    return [gate, publish, skip]
