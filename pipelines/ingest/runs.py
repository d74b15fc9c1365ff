"""Which run the quarantine and the stg partition of a day come from: the catalog against the quarantine.

A run replaces the day's quarantine partition, then its stg partition, in two Delta commits (two tables
cannot share one), and appends its catalog entry: `staged`, or `rejected` when its bad rows were above
max_bad_fraction (its quarantine is committed, stg is not touched). Quarantine rows carry their run_id,
so a day is consistent when its latest catalog entry is staged and the quarantine holds exactly that
run's quarantined rows. Otherwise `day_notes` says where each partition comes from: a rejected run, or
a run not in the catalog (it stopped between its commits or before recording its entry; if after its
stg commit, stg holds its rows too, which the catalog cannot tell).
"""

from __future__ import annotations

from pipelines.common import table_names, tables
from pipelines.ingest.catalog import STAGED, catalog_table
from pipelines.settings import Settings

UNRECORDED = "not in the catalog: the run stopped before recording"


def status_of(entry: dict) -> str:
    """A catalog entry's status; entries written before statuses were recorded are all staged runs."""
    return entry.get("status") or STAGED


def _note(day: str, runs: list, held: dict[str, int]) -> str | None:
    """The note for one day: `runs` are its catalog entries, newest first; `held` the quarantine's rows by run."""
    status = {e["run_id"]: status_of(e) for e in runs}
    latest = runs[0]
    staged = next((e for e in runs if status_of(e) == STAGED), None)
    expected = {latest["run_id"]: latest["quarantined_rows"]} if latest["quarantined_rows"] else {}
    if staged is latest and held == expected:
        return None
    q = ", ".join(f"run {r} ({status.get(r, UNRECORDED)}, {n:,} rows)" for r, n in sorted(held.items()))
    unrecorded = sorted(r for r in held if r not in status)
    if not q:
        q = (
            f"empty (replaced by a run not in the catalog: run {latest['run_id']} quarantined "
            f"{latest['quarantined_rows']:,} rows)"
            if latest["quarantined_rows"]
            else "empty"
        )
        unrecorded = ["that run"] if latest["quarantined_rows"] else []
    stg = f"run {staged['run_id']}" if staged else "no staged run in the catalog"
    if unrecorded:  # a run killed after its stg commit, before its catalog entry, holds stg too
        stg += f", or {unrecorded[-1]} if it was killed after committing stg"
    return f"ds={day}: quarantine from {q}; stg from {stg}"


def day_notes(spark, settings: Settings, source: str, days: list[str]) -> dict[str, str]:
    """{day: note} for the days of `days` whose quarantine and stg partitions do not come from the same
    staged run (reads the catalog's entries of those days and the quarantine's run_id column)."""
    from pyspark.sql import functions as F

    catalog = catalog_table(settings)
    if not days or not tables.table_exists(spark, catalog):
        return {}
    entries = (
        spark.table(catalog)
        .where((F.col("source") == source) & F.col("ds").isin(days))
        .orderBy(F.desc("ingested_at"))
        .collect()
    )
    quarantine = table_names.quarantine(settings, source)
    held: dict[str, dict[str, int]] = {}
    if tables.table_exists(spark, quarantine):
        for r in spark.table(quarantine).where(F.col("ds").isin(days)).groupBy("ds", "run_id").count().collect():
            held.setdefault(r["ds"], {})[r["run_id"]] = int(r["count"])
    notes = {}
    for day in days:
        runs = [e.asDict() for e in entries if e["ds"] == day]
        note = _note(day, runs, held.get(day, {})) if runs else None
        if note:
            notes[day] = note
    return notes
