#!/usr/bin/env bash
# The main job on the embedded defaults: generate a day of synthetic click logs, ingest it into
# stg.click_logs (contract checks, quarantine, catalog), fit the default feature pipeline and write
# feat.ctr_default, then show what the metastore holds. `make run` calls this after scripts/setup.sh. Usage: run_main.sh --ds DAY [--env ENV]
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
$PY -m jobs ingest --source click_logs --ds "$DS" --env "$ENV"
$PY -m jobs features --pipeline ctr_default --fit --ds "$DS" --env "$ENV"
.venv/bin/ctrflow sources --env "$ENV"
.venv/bin/ctrflow tables --env "$ENV"
