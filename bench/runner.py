"""What the end-to-end bench scripts share: the state directory, the Spark session, the jobs run in it
with the bench's --set overrides, and the synthetic days every run starts from.

    sets = [*synthetic_sets(args.state, args.rows), "gbdt.train_days=1"]
    settings, spark = open_session(args.state, sets, reuse=args.reuse)
    job = job_runner(spark, sets)
    make_days(job, [D1, D2])           # generate -> ingest each day, features fitted on the first
    seconds = job("train_gbdt_lr", "--ds", str(D2))
"""

from __future__ import annotations

import shutil
import time


def synthetic_sets(state: str, rows: int) -> list[str]:
    """The overrides of every run: its own state directory, rows per synthetic day, quiet Spark."""
    return [
        f"project.state_dir={state}",
        f"synth.rows_per_day={rows}",
        "synth.write_tsv=false",
        "spark.log_level=ERROR",
    ]


def open_session(state: str, sets: list[str], *, reuse: bool):
    """(settings, spark) for `sets`; the state directory is emptied first unless `reuse`."""
    from pipelines.common import config
    from pipelines.common.spark import get_session

    if not reuse:
        shutil.rmtree(state, ignore_errors=True)
    settings = config.load(overrides=sets).settings
    return settings, get_session(settings)


def job_runner(spark, sets: list[str]):
    """job(name, *args, extra=()) runs a ctrflow job in `spark` with `sets` (then `extra`) as --set
    overrides and returns its seconds; a failed job ends the bench."""
    from jobs.harness import run_job

    def job(*argv, extra=()) -> float:
        flags = [a for s in [*sets, *extra] for a in ("--set", s)]
        t0 = time.perf_counter()
        if run_job(argv[0], [*argv[1:], *flags], spark=spark) != 0:
            raise SystemExit(f"bench: job {' '.join(argv)} failed")
        return time.perf_counter() - t0

    return job


def make_days(job, days, pipeline: str = "ctr_default", source: str = "click_logs") -> dict[str, float]:
    """Synthetic click logs generated and ingested for each day, the feature pipeline fitted on the first
    day and applied to the others; the seconds of each step."""
    seconds = {}
    for day in days:
        seconds[f"generate {day}"] = job("generate", "--ds", str(day))
        seconds[f"ingest {day}"] = job("ingest", "--source", source, "--ds", str(day))
    seconds["features fit"] = job("features", "--pipeline", pipeline, "--ds", str(days[0]), "--fit")
    for day in days[1:]:
        seconds[f"features {day}"] = job("features", "--pipeline", pipeline, "--ds", str(day))
    return seconds
