"""An operator that fails the task unless a model has a champion, and returns it (docs/adding-an-operator.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from operators.run_conf import load_settings, resolve


class ChampionCheckOperator(BaseOperator):
    template_fields: Sequence[str] = ("model", "env", "overrides")

    def __init__(self, *, model: str, env: str | None = None, overrides: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)  # store arguments only: the scheduler builds operators at every parse
        self.model = model
        self.env = env
        self.overrides = list(overrides)

    def execute(self, context: Any) -> dict:
        from pipelines.registry.store import Registry  # heavy imports inside execute, never at the top

        env, overrides = resolve(context, self.env, self.overrides)  # + the run conf's env / overrides
        champion = Registry.from_settings(load_settings(env, overrides)).champion(self.model)
        if champion is None:
            raise AirflowFailException(f"model {self.model} has no champion: nothing to serve")
        self.log.info("%s champion %s (evaluated on %s)", self.model, champion.version, champion.eval_ds)
        return {"model": self.model, "version": champion.version, "metrics": champion.metrics}  # the XCom
