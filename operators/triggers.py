"""PartitionTrigger: the deferrable partition sensor's wait, in the triggerer (asyncio, no worker slot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from operators._runconf import parse_probe_output


class PartitionTrigger(BaseTrigger):
    """Runs the partition probe every `poke_interval_s` until it answers available (or fails)."""

    def __init__(self, command: list[str], poke_interval_s: float, probe_timeout_s: float) -> None:
        super().__init__()
        self.command = list(command)
        self.poke_interval_s = poke_interval_s
        self.probe_timeout_s = probe_timeout_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("operators.triggers.PartitionTrigger", {"command": self.command, "poke_interval_s":
                self.poke_interval_s, "probe_timeout_s": self.probe_timeout_s})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            proc = await asyncio.create_subprocess_exec(*self.command, stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.PIPE)
            try:
                out, err = await asyncio.wait_for(proc.communicate(), self.probe_timeout_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                self.log.warning("partition probe did not answer in %.0f s; trying again", self.probe_timeout_s)
                await asyncio.sleep(self.poke_interval_s)
                continue
            if proc.returncode != 0:
                tail = (err.decode().strip().splitlines() or ["(no output)"])[-1]
                yield TriggerEvent({"status": "error", "detail": f"probe failed (exit {proc.returncode}): {tail}"})
                return
            answer = parse_probe_output(out.decode())
            self.log.info("%s", answer["detail"])
            if answer["available"]:
                yield TriggerEvent({"status": "available", **answer})
                return
            await asyncio.sleep(self.poke_interval_s)
