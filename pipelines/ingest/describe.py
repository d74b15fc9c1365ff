"""`ctrflow sources`: the declared sources, the days each has, the last ingests of each (staged and
rejected runs, files not read), and a note for a day whose quarantine and stg come from different runs."""

from __future__ import annotations

from pipelines.ingest.catalog import REJECTED, last_ingests, reasons_text
from pipelines.ingest.files import skipped_text
from pipelines.ingest.runs import day_notes
from pipelines.ingest.sources import available_partitions, hive_table, source_path
from pipelines.settings import Settings


def _where(settings: Settings, spec) -> str:
    return hive_table(settings, spec) if spec.kind == "hive" else source_path(settings, spec)


def _days(days: list[str]) -> str:
    if not days:
        return "none"
    shown = ", ".join(days[-5:])
    return f"{len(days)} ({'…, ' if len(days) > 5 else ''}{shown})"


def _entry(e: dict) -> str:
    """One line of a catalog entry: a staged run, or a rejected one (its quarantine only)."""
    reasons = reasons_text(e["top_reasons"], 3)
    when = f"ds={e['ds']} at {e['ingested_at']:%Y-%m-%d %H:%M}: {e['input_rows']:,} rows"
    quarantined = f"{e['quarantined_rows']:,} quarantined{' (' + reasons + ')' if reasons else ''}"
    if e["status"] == REJECTED:
        return f"    rejected {when}, {quarantined}: above max_bad_fraction, stg not touched (run {e['run_id']})"
    return f"    ingested {when}, {e['staged_rows']:,} staged, {quarantined} -> {e['stg_table']} v{e['stg_version']}"


def describe_sources(spark, settings: Settings, last: int = 3) -> str:
    lines = []
    for name, spec in sorted(settings.sources.sources.items()):
        lines.append(
            f"{name}  [{spec.kind}] {_where(settings, spec)}  contract={spec.contract} "
            f"max_bad_fraction={spec.max_bad_fraction:g}"
        )
        if spec.description:
            lines.append(f"    {spec.description}")
        lines.append(f"    partitions: {_days(available_partitions(spark, settings, spec))}")
        ingests = last_ingests(spark, settings, name, limit=last)
        if not ingests:
            lines.append("    ingested: never")
        for e in ingests:
            lines.append(_entry(e))
            unread = skipped_text(e.get("skipped_files"))
            if unread:
                lines.append(f"      {unread}")
        notes = day_notes(spark, settings, name, sorted({e["ds"] for e in ingests}))
        lines += [f"    ! {note}" for _, note in sorted(notes.items())]
    return "\n".join(lines)
