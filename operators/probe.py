"""Metadata checks the sensor and the data-quality operator need, run as `python -m operators.probe`.

They need Spark (the metastore, Delta tables) but must not start it inside the Airflow worker: a JVM
left in the worker would hold the embedded Derby metastore and lock out the next spark-submit, and a
worker may have no Java at all. So each check is a short process that prints one JSON line.

    python -m operators.probe partition --source click_logs --ds 2026-11-01 [--env local] [--set k=v ...]
    python -m operators.probe quality --source click_logs --pipeline ctr_default --ds 2026-11-01
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def probe_command(kind: str, ds: str, *, env: str, overrides: list[str] | tuple[str, ...] = (),
                  python: str | None = None, **options: str) -> list[str]:
    """The argv of one probe (pure, used by the operators and the trigger)."""
    cmd = [python or sys.executable, "-m", "operators.probe", kind, "--ds", str(ds), "--env", env]
    for key, value in options.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    for item in overrides:
        cmd += ["--set", str(item)]
    return cmd


def partition(spark, settings, source: str, ds: dt.date) -> dict:
    from pipelines.ingest.sources import partition_available

    ok, detail = partition_available(spark, settings, source, ds)
    return {"available": ok, "detail": f"source {source}: {detail}"}


def quality(spark, settings, source: str, pipeline: str, ds: dt.date) -> dict:
    """The day's last ingest counts (from the ingest catalog) and per-feature PSI (from feat.<pipeline>_stats)."""
    from pyspark.sql import functions as F

    from pipelines.common import tables
    from pipelines.features.flow import stats_table
    from pipelines.ingest.catalog import STAGED, catalog_table, ranked_reasons

    day = ds.isoformat()
    ingest = None
    catalog = catalog_table(settings)
    if tables.table_exists(spark, catalog):
        entries = spark.table(catalog).where((F.col("source") == F.lit(source)) & (F.col("ds") == F.lit(day)))
        if "status" in entries.columns:  # the run whose rows stg holds, not a later rejected one
            entries = entries.where(F.col("status").isNull() | (F.col("status") == STAGED))
        rows = entries.orderBy("ingested_at", ascending=False).limit(1).collect()
        if rows:
            r = rows[0]
            ingest = {"run_id": r["run_id"], "input_rows": r["input_rows"], "staged_rows": r["staged_rows"],
                      "quarantined_rows": r["quarantined_rows"],
                      "top_reasons": ranked_reasons(json.loads(r["top_reasons"] or "[]"))}
    stats = stats_table(settings, pipeline)
    drift, model_version = None, None
    if tables.table_exists(spark, stats):
        rows = spark.table(stats).where(F.col("ds") == F.lit(day)).select("feature", "psi", "model_version").collect()
        if rows:  # one row per feature; psi is null where the day was not compared with a window
            drift = {r["feature"]: r["psi"] for r in rows}
            model_version = rows[0]["model_version"]
    return {"source": source, "catalog": catalog, "ingest": ingest, "stats_table": stats,
            "model_version": model_version, "psi": drift}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m operators.probe", description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["partition", "quality"])
    p.add_argument("--ds", required=True)
    p.add_argument("--env", default="local")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--source", required=True)
    p.add_argument("--pipeline")
    p.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    ns = p.parse_args(argv)
    from jobs._harness import configure_logging
    from pipelines.common.config import load
    from pipelines.common.errors import ConfigError
    from pipelines.common.names import check_name
    from pipelines.common.spark import get_session

    configure_logging("WARNING")
    try:
        ds = dt.date.fromisoformat(ns.ds)
        for flag, value in (("--source", ns.source), ("--pipeline", ns.pipeline)):
            try:
                if value is not None:
                    check_name(value)
            except ValueError as e:
                raise ConfigError(f"{flag}: {e}") from None
        settings = load(ns.env, ns.overrides).settings
        spark = get_session(settings)
        if ns.kind == "partition":
            out = partition(spark, settings, ns.source, ds)
        else:
            if not ns.pipeline:
                p.error("quality needs --pipeline")
            out = quality(spark, settings, ns.source, ns.pipeline, ds)
    except ValueError as e:  # a --ds that is not a day
        from pipelines.common.protocol import print_error

        print_error(f"ctrflow probe {ns.kind}", str(e))
        return 2
    except Exception as e:
        from jobs._harness import debug_requested, report_failure

        return report_failure(f"ctrflow probe {ns.kind}", e, ns.debug or debug_requested([]))
    print(json.dumps(out, default=str, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
