"""PartitionTrigger: the deferrable partition sensor's wait, in the triggerer (asyncio, no worker slot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from pipelines.core import protocol


class PartitionTrigger(BaseTrigger):
    """Runs the partition probe every `poke_interval_s` until it answers available (or fails)."""

    def __init__(self, command: list[str], poke_interval_s: float, probe_timeout_s: float) -> None:
        super().__init__()
        self.command = list(command)
        self.poke_interval_s = poke_interval_s
        self.probe_timeout_s = probe_timeout_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "operators.triggers.PartitionTrigger",
            {"command": self.command, "poke_interval_s": self.poke_interval_s, "probe_timeout_s": self.probe_timeout_s},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            proc = await asyncio.create_subprocess_exec(
                *self.command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), self.probe_timeout_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                self.log.warning("partition probe did not answer in %.0f s; trying again", self.probe_timeout_s)
                await asyncio.sleep(self.poke_interval_s)
                continue
            lines = (out + err).decode(errors="replace").splitlines()
            if proc.returncode != 0:
                errors = [ln for ln in lines if protocol.is_error_line(ln)] or lines[-1:] or ["(no output)"]
                yield TriggerEvent({"status": "error", "detail": f"{errors[-1].strip()} (exit {proc.returncode})"})
                return
            answers = [a for a in map(protocol.parse_result, lines) if a is not None]
            if not answers:
                yield TriggerEvent({"status": "error", "detail": "check_partition printed no result line"})
                return
            answer = answers[-1]
            self.log.info("%s", answer["detail"])
            if answer["available"]:
                yield TriggerEvent({"status": "available", **answer})
                return
            await asyncio.sleep(self.poke_interval_s)
