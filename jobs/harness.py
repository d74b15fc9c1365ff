"""The job harness: one way to parse, configure, run and report every job.

The same code runs under `spark-submit jobs/<name>.py`, `python -m jobs <name>` and
`ctrflow job <name>`. User errors (bad arguments, config, input data) end as one line on stderr and
a non-zero exit; each stage of a job is logged with its timing; the job's result is logged as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import os
import sys
import time
import types
import typing
from types import ModuleType
from typing import Any, Literal

from pipelines.common import config as config_mod
from pipelines.common import schema
from pipelines.common.config import LoadedConfig
from pipelines.core import protocol
from pipelines.core.errors import ConfigError, CtrflowError, debug_from_env
from pipelines.core.timing import take_timings

log = logging.getLogger("ctrflow")

_BASE_FIELDS = {"ds", "conf"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobConfig:
    """What every job gets: the partition day and the validated settings. Subclasses add options."""

    ds: dt.date
    conf: LoadedConfig

    @property
    def settings(self):
        return self.conf.settings


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def _option_type(tp: Any) -> tuple[dict, Any]:
    """argparse keywords for a Config field annotation."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
        tp = args[0]
    origin = typing.get_origin(tp)
    if tp is bool:
        return {"action": argparse.BooleanOptionalAction}, tp
    if origin is Literal:
        return {"choices": list(typing.get_args(tp))}, tp
    if origin is list:
        item = typing.get_args(tp)[0]
        return {"nargs": "+", "type": item if item in (int, float) else str}, tp
    if tp in (int, float):
        return {"type": tp}, tp
    return {"type": str}, tp


def build_parser(job: ModuleType, name: str) -> argparse.ArgumentParser:
    doc = (job.__doc__ or "").strip()
    p = _ArgParser(prog=f"ctrflow job {name}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--ds",
        required=True,
        help="the partition day to process, YYYY-MM-DD; or FIRST..LAST, each day in turn in one Spark application",
    )
    p.add_argument(
        "--env",
        default=os.environ.get("CTRFLOW_ENV", config_mod.DEFAULT_ENV),
        help="config overlay under conf/ (default: local, or $CTRFLOW_ENV)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set synth.rows_per_day=1000 (repeatable)",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument(
        "--debug",
        action="store_true",
        help="on failure, print the traceback and Spark's task errors too (or set CTRFLOW_DEBUG=1)",
    )
    hints = typing.get_type_hints(job.Config)
    for f in dataclasses.fields(job.Config):
        if f.name in _BASE_FIELDS:
            continue
        kw, _ = _option_type(hints[f.name])
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if required else (f.default if f.default is not dataclasses.MISSING else f.default_factory())
        p.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f.name,
            required=required,
            default=default,
            help=f.metadata.get("help", "") + ("" if required else f" (default: {default})"),
            **kw,
        )
    return p


def parse_config(job: ModuleType, name: str, argv: list[str]) -> tuple[JobConfig, str]:
    ns = build_parser(job, name).parse_args(argv)
    try:
        ds = dt.date.fromisoformat(ns.ds)
    except ValueError:
        raise ConfigError(f"--ds {ns.ds!r}: expected a day YYYY-MM-DD") from None
    loaded = config_mod.load(env=ns.env, overrides=ns.overrides)
    options = {f.name: getattr(ns, f.name) for f in dataclasses.fields(job.Config) if f.name not in _BASE_FIELDS}
    cfg = schema.build(
        job.Config,
        {"ds": ds, "conf": loaded, **options},
        where=lambda path: f"--{path.split('.')[0].replace('_', '-')}",
    )
    return cfg, ns.log_level


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("py4j", "py4j.clientserver", "py4j.java_gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_job(name: str, argv: list[str], spark=None) -> int:
    """Parse, set up Spark and run a job; returns the process exit code. `--ds FIRST..LAST` runs the job for
    each day in turn on one Spark session (a backfill pays one start-up), each day its own atomic job with
    its own result line; the first day that fails stops the range (the days before it stay done)."""
    from jobs import load_job

    debug = debug_requested(argv)
    prog = f"ctrflow {name}"
    try:
        job = load_job(name)
        days = per_day_argv(argv)
        for day_argv in days:
            cfg, level = parse_config(job, name, day_argv)
            if len(days) > 1:
                prog = f"ctrflow {name} {cfg.ds}"  # the error line names the day that failed
            configure_logging(level)
            log.info("job %s ds=%s env=%s config=%s", name, cfg.ds, cfg.conf.env, cfg.conf.config_hash)
            t0 = time.perf_counter()
            if spark is None and getattr(job, "USES_SPARK", True):  # a job module may set USES_SPARK = False
                from pipelines.common.spark import app_name, get_session
                from pipelines.core.timing import stage

                days_label = cfg.ds if len(days) == 1 else f"{cfg.ds}..{cfg.ds + dt.timedelta(days=len(days) - 1)}"
                with stage(f"starting Spark (profile {cfg.settings.spark.profile})"):
                    spark = get_session(cfg.settings, app=app_name(cfg.settings, name, days_label))
            if debug and spark is not None and day_argv is days[0]:
                from pipelines.common.spark import task_error_logs

                task_error_logs(spark, audible=True)
            result = job.run(spark, cfg)
            timings = take_timings()
            log.info(
                "job %s done in %.1f s; stages: %s",
                name,
                time.perf_counter() - t0,
                ", ".join(f"{n} {s:.1f}s" for n, s in timings),
            )
            protocol.print_result(result or {})  # whatever --log-level says: the caller reads it
        return 0
    except Exception as e:
        take_timings()
        return report_failure(prog, e, debug)


MAX_RANGE_DAYS = 366


def per_day_argv(argv: list[str]) -> list[list[str]]:
    """[argv] for one day; for `--ds FIRST..LAST` (or --ds=FIRST..LAST), one argv per day, oldest first."""
    for i, arg in enumerate(argv):
        if arg == "--ds" and i + 1 < len(argv):
            value, at, form = argv[i + 1], i + 1, "{}"
        elif arg.startswith("--ds="):
            value, at, form = arg.removeprefix("--ds="), i, "--ds={}"
        else:
            continue
        if ".." not in value:
            return [argv]
        first, _, last = value.partition("..")
        try:
            start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        except ValueError:
            raise ConfigError(f"--ds {value!r}: expected a day YYYY-MM-DD or a range FIRST..LAST") from None
        if end < start:
            raise ConfigError(f"--ds {value!r}: the range ends before it starts")
        n = (end - start).days + 1
        if n > MAX_RANGE_DAYS:
            raise ConfigError(f"--ds {value!r}: {n} days; at most {MAX_RANGE_DAYS} in one run")
        days = [start + dt.timedelta(days=k) for k in range(n)]
        return [[*argv[:at], form.format(d.isoformat()), *argv[at + 1 :]] for d in days]
    return [argv]


def debug_requested(argv: list[str]) -> bool:
    """--debug among the arguments (looked for before parsing, which may itself fail) or CTRFLOW_DEBUG=1."""
    return "--debug" in argv or debug_from_env()


def report_failure(prog: str, e: Exception, debug: bool) -> int:
    """Print one line for a failure and return its exit code: a CtrflowError's own message and code (2
    user/config, 1 runtime, 3 gate refusal); anything else (a Spark or Python failure) summarised by
    errors.one_line, exit 1. The traceback only with --debug."""
    from pipelines.core.errors import one_line

    if debug:
        import traceback

        traceback.print_exception(e, file=sys.stderr)
    if isinstance(e, CtrflowError):
        protocol.print_error(prog, str(e).strip() or type(e).__name__)
        return e.exit_code
    from pyspark.errors import AnalysisException

    if isinstance(e, AnalysisException):  # names a missing table or column: the user's to fix
        protocol.print_error(prog, str(e).strip().splitlines()[0])
        return 1
    hint = "" if debug else "; rerun with --debug for the traceback"
    protocol.print_error(prog, f"{one_line(e)} (unexpected {type(e).__name__}{hint})")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of a job module run as a script (`spark-submit jobs/<name>.py ...`)."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    return run_job(name, list(sys.argv[1:] if argv is None else argv))


def usage() -> str:
    from jobs import job_names, load_job

    lines = [
        "usage: python -m jobs <job> --ds YYYY-MM-DD [--env ENV] [--set KEY=VALUE ...] [options]",
        "       python -m jobs <job> --help",
        "",
        "jobs:",
    ]
    for name in job_names():
        summary = (load_job(name).__doc__ or "").strip().splitlines()[0]
        lines.append(f"  {name:<16} {summary}")
    return "\n".join(lines)


def main_cli(argv: list[str] | None = None) -> int:
    """`python -m jobs <name> ...`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    return run_job(argv[0], argv[1:])
