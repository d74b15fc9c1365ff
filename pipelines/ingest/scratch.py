"""The ingest job's scratch data: `<state>/_scratch/ingest/<run_id>`, one Parquet dataset per run.

A run deletes its own scratch data when it ends, but a killed run cannot. So each run starts by removing
what dead runs left: the scratch data of earlier runs of the same source and day (run ids are
`<source>-<ds>-<hex>`; two runs of one source and day cannot both commit, so another is not alive), and
any scratch directory older than a day. Only names are listed (Hadoop FileSystem); each removal is logged.
"""

from __future__ import annotations

import logging
import time

from pipelines.common.tables import hadoop_fs
from pipelines.settings import Settings

log = logging.getLogger("ctrflow.ingest")

MAX_AGE_S = 24 * 3600


def scratch_dir(settings: Settings, run_id: str | None = None) -> str:
    """The ingest scratch root, or a run's scratch directory under it."""
    return settings.project.path("_scratch", "ingest", *([run_id] if run_id else []))


def clean_leftovers(spark, settings: Settings, source: str, day: str, now: float | None = None) -> list[str]:
    """Remove the scratch directories of earlier runs of `source` and `day`, and any older than 24 h;
    returns the names removed."""
    root = scratch_dir(settings)
    fs, path = hadoop_fs(spark, root)
    if not fs.exists(path):
        return []
    now = time.time() if now is None else now
    mine = f"{source}-{day}-"
    removed = []
    for st in fs.listStatus(path):
        name = st.getPath().getName()
        age_h = (now - st.getModificationTime() / 1000) / 3600
        if name.startswith(mine):
            why = f"left by an earlier run of source {source} ds={day}"
        elif age_h * 3600 > MAX_AGE_S:
            why = f"{age_h:.0f} h old, more than 24 h"
        else:
            continue
        fs.delete(st.getPath(), True)
        removed.append(name)
        log.warning("removed leftover scratch %s/%s (%s)", root, name, why)
    return removed
