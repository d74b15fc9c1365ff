#!/usr/bin/env bash
# The main job on the embedded defaults: generate a day of synthetic click logs, then show what the
# metastore holds. `make run` calls this after scripts/setup.sh. Usage: run_main.sh --ds DAY [--env ENV]
set -euo pipefail
cd "$(dirname "$0")/.."
DS=2026-11-01
ENV=local
while [[ $# -gt 0 ]]; do
  case $1 in
    --ds) DS=$2; shift 2 ;;
    --env) ENV=$2; shift 2 ;;
    *) echo "run_main.sh: unknown argument $1 (expected --ds DAY, --env ENV)" >&2; exit 2 ;;
  esac
done
PY=.venv/bin/python
export PYSPARK_PYTHON=$PWD/$PY

$PY -m jobs generate --ds "$DS" --env "$ENV"
.venv/bin/ctrflow tables --env "$ENV"
