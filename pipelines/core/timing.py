"""Staged timing logs: `with stage("writing rows"):` logs the start, the end and the seconds taken."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("ctrflow")

_timings: list[tuple[str, float]] = []


@contextmanager
def stage(name: str) -> Iterator[None]:
    log.info("▶ %s", name)
    t0 = time.perf_counter()
    try:
        yield
    except BaseException:
        log.error("✗ %s failed after %.2f s", name, time.perf_counter() - t0)
        raise
    elapsed = time.perf_counter() - t0
    _timings.append((name, elapsed))
    log.info("✓ %s (%.2f s)", name, elapsed)


def take_timings() -> list[tuple[str, float]]:
    """The stages timed since the last call (the harness prints them as the job's summary)."""
    out = list(_timings)
    _timings.clear()
    return out
