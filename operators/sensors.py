"""SourcePartitionSensor: wait until a declared source has the run's day (metadata only, no data read);
TablePartitionSensor: the same for a table with a ds column (ann_weekly waits for its features);
ChampionSensor: until a registered model or index has a champion for the day (recs_daily waits for its
index and ranker).

Each poke runs the job `check_partition` (`pipelines.ingest.sources.partition_available`) in a short
process through the job hook, so the worker never holds a JVM. Reschedule mode by default (the worker slot is
free between pokes); `deferrable=True` waits in the triggerer instead (`operators.triggers`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException

from operators.hooks.spark_job import check_command
from operators.run_conf import resolve, run_check


class SourcePartitionSensor(BaseSensorOperator):
    template_fields: Sequence[str] = ("ds", "env", "overrides")
    ui_color = "#fdf6e3"

    def __init__(
        self,
        *,
        source: str,
        ds: str = "{{ ds }}",
        env: str | None = None,
        overrides: Sequence[str] = (),
        deferrable: bool = False,
        probe_timeout_s: float = 600,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.source = source
        self.ds = ds
        self.env = env
        self.overrides = list(overrides)
        self.deferrable = deferrable
        self.probe_timeout_s = probe_timeout_s

    def command(self, context: Any = None) -> list[str]:
        env, overrides = resolve(context, self.env, self.overrides)
        return check_command("partition", self.ds, env=env, overrides=overrides, source=self.source)

    def execute(self, context: Any) -> Any:
        if self.deferrable:
            from operators.triggers import PartitionTrigger

            self.defer(
                trigger=PartitionTrigger(self.command(context), _seconds(self.poke_interval), self.probe_timeout_s),
                method_name="execute_complete",
                timeout=dt.timedelta(seconds=_seconds(self.timeout)) if self.timeout else None,
            )
        return super().execute(context)

    def poke(self, context: Any) -> PokeReturnValue:
        answer = run_check(self.command(context), self.probe_timeout_s)
        self.log.info("%s", answer["detail"])
        return PokeReturnValue(is_done=bool(answer["available"]), xcom_value=answer)

    def execute_complete(self, context: Any, event: dict) -> dict:
        if event.get("status") != "available":
            raise AirflowException(f"waiting for {self.source} ds={self.ds}: {event.get('detail')}")
        self.log.info("%s", event.get("detail"))
        return event


class TablePartitionSensor(SourcePartitionSensor):
    """Wait until `table` (db.table, Delta or metastore) has rows for the run's day."""

    def __init__(self, *, table: str, **kwargs: Any) -> None:
        super().__init__(source=table, **kwargs)
        self.table = table

    def command(self, context: Any = None) -> list[str]:
        env, overrides = resolve(context, self.env, self.overrides)
        return check_command("partition", self.ds, env=env, overrides=overrides, table=self.table)


class ChampionSensor(SourcePartitionSensor):
    """Wait until the registry name `model` (a model or an index) has a champion evaluated on or before
    the run's day."""

    def __init__(self, *, model: str, **kwargs: Any) -> None:
        super().__init__(source=model, **kwargs)
        self.model = model

    def command(self, context: Any = None) -> list[str]:
        env, overrides = resolve(context, self.env, self.overrides)
        return check_command("partition", self.ds, env=env, overrides=overrides, model=self.model)


def _seconds(value: dt.timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
