"""The `ctrflow` command: run jobs and look at what the platform holds."""

from __future__ import annotations

import argparse
import json
import sys

from jobs.harness import configure_logging, debug_requested, report_failure, run_job, usage
from pipelines.common import config as config_mod
from pipelines.core.names import mask_secrets


def _parse(fn, args: list[str], options=None) -> tuple[config_mod.LoadedConfig, argparse.Namespace]:
    p = argparse.ArgumentParser(prog=f"ctrflow {fn.__name__.strip('_')}", description=fn.__doc__)
    p.add_argument("--env", default=config_mod.DEFAULT_ENV)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    if options is not None:
        options(p)
    ns = p.parse_args(args)
    return config_mod.load(env=ns.env, overrides=ns.overrides), ns


def _settings(fn, args: list[str]) -> config_mod.LoadedConfig:
    return _parse(fn, args)[0]


def _session(settings):
    from pipelines.common.spark import get_session

    return get_session(settings)


def _config(args: list[str]) -> int:
    """[--env ENV] [--set K=V]: print the merged, validated config (secret-looking keys' values as ***)"""
    loaded = _settings(_config, args)
    print(json.dumps({"env": loaded.env, "config_hash": loaded.config_hash, **mask_secrets(loaded.plain)}, indent=2))
    return 0


def _tables(args: list[str]) -> int:
    """[--env ENV] [--set K=V]: the tables of each data layer in the metastore, with their ds partitions"""
    settings = _settings(_tables, args).settings
    from pipelines.common.describe_tables import describe_tables

    print(describe_tables(_session(settings), settings))
    return 0


def _sources(args: list[str]) -> int:
    """[--env ENV] [--set K=V]: the declared sources, their available days and their last ingests"""
    settings = _settings(_sources, args).settings
    from pipelines.ingest.describe import describe_sources

    print(describe_sources(_session(settings), settings))
    return 0


def _models(args: list[str]) -> int:
    """[--env ENV] [--set K=V] [--check]: the registry's models, versions and champions; --check verifies files"""
    loaded, ns = _parse(
        _models,
        args,
        lambda p: p.add_argument(
            "--check", action="store_true", help="verify every version's files (sha256) against its manifest"
        ),
    )
    from pipelines.registry.describe import describe_check, describe_models
    from pipelines.registry.store import Registry, RegistryDamaged

    reg = Registry.from_settings(loaded.settings)
    if not ns.check:
        print(describe_models(reg))
        return 0
    results = reg.check()
    print(describe_check(reg.location, results))
    return RegistryDamaged.exit_code if any(m.damaged for m in results) else 0


COMMANDS = {
    "config": _config,
    "tables": _tables,
    "sources": _sources,
    "models": _models,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        lines = [
            __doc__.strip(),
            "",
            "  ctrflow jobs                    list the jobs",
            "  ctrflow job <name> --ds DAY ... run a job (same as `python -m jobs <name>`)",
        ]
        lines += [f"  ctrflow {name} {fn.__doc__}" for name, fn in COMMANDS.items()]
        print("\n".join(lines))
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "jobs":
        print(usage())
        return 0
    if cmd == "job":
        if not rest or rest[0] in ("-h", "--help"):
            print(usage())
            return 0 if rest else 2
        return run_job(rest[0], rest[1:])
    if cmd not in COMMANDS:
        print(f"ctrflow: error: unknown command '{cmd}' (commands: job, jobs, {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    configure_logging("WARNING")
    debug = debug_requested(rest)
    try:
        return COMMANDS[cmd]([a for a in rest if a != "--debug"])
    except Exception as e:
        return report_failure(f"ctrflow {cmd}", e, debug)


if __name__ == "__main__":
    raise SystemExit(main())
