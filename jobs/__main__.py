"""`python -m jobs <name> --ds YYYY-MM-DD [--env local] [--set key=value ...]`."""

from jobs.harness import main_cli

raise SystemExit(main_cli())
