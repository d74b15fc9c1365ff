#!/usr/bin/env bash
# The main job on the embedded defaults: the ctr_daily Airflow DAG end to end for one day on fresh
# synthetic data. The two days before --ds are prepared with the jobs directly (generate, ingest,
# features; the feature pipeline is fitted on the first) so that training has a window; then --ds is
# generated and `airflow dags test ctr_daily <ds>` runs sensor -> ingest -> features -> training ->
# quality check -> gate -> publish -> score, with Airflow on SQLite under <state>/airflow and Spark
# local. Ends by printing where the report, the models and the scores are.
# `make run` calls this after scripts/setup.sh.
# With --env loopback (`make run ENV=loopback`, after `make cluster-up`) the jobs run on the loopback
# cluster (standalone Spark, Postgres metastore, state on HDFS) and the DAG runs through the cluster's
# Airflow scheduler instead of `dags test`: for the latest day (the default DS there: yesterday, UTC) the
# scheduler's own run once the DAG is unpaused, for an earlier --ds a one-day backfill (operators/scheduler.py).
# Usage: run_main.sh [--ds DAY] [--env ENV] [--set KEY=VALUE ...]   (--set: config overrides for every job)
set -euo pipefail
cd "$(dirname "$0")/.."
DS=
ENV=local
SETS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --ds) DS=$2; shift 2 ;;
    --env) ENV=$2; shift 2 ;;
    --set) SETS+=("$2"); shift 2 ;;
    *) echo "run_main.sh: unknown argument $1 (expected --ds DAY, --env ENV, --set KEY=VALUE)" >&2; exit 2 ;;
  esac
done
PY=$PWD/.venv/bin/python
export PYSPARK_PYTHON=$PY
if [[ $ENV == loopback ]]; then
  scripts/cluster.sh status >/dev/null 2>&1 \
    || { echo "run_main.sh: the loopback cluster is not up (scripts/cluster.sh status): run make cluster-up first" >&2; exit 1; }
  # the cluster's addresses and the metastore password the jobs' drivers read (never on a command line)
  set -a; . .state/cluster/secrets.env; . .state/cluster/airflow.env; set +a
  [[ -n $DS ]] || DS=$("$PY" -c 'from operators.scheduler import latest_interval; print(latest_interval())')
fi
DS=${DS:-2026-11-03}
log() { printf '[run_main %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
day() { "$PY" -c "import datetime as d, sys; print(d.date.fromisoformat(sys.argv[1]) - d.timedelta(days=int(sys.argv[2])))" "$DS" "$1"; }

job_sets=()
for s in ${SETS[@]+"${SETS[@]}"}; do job_sets+=(--set "$s"); done
job() { "$PY" -m jobs "$@" --env "$ENV" ${job_sets[@]+"${job_sets[@]}"}; }

# where state lives (project.state_dir, after --env and --set)
STATE=$("$PY" - "$ENV" ${SETS[@]+"${SETS[@]}"} <<'PY'
import sys
from pipelines.common.config import load
print(load(sys.argv[1], sys.argv[2:]).settings.project.path())
PY
)

D1=$(day 2); D2=$(day 1)
log "preparing the training window: $D1 and $D2 (generate, ingest, features; the pipeline is fitted on $D1)"
job generate --ds "$D1"
job ingest --source click_logs --ds "$D1"
job features --pipeline ctr_default --fit --ds "$D1"
job generate --ds "$D2"
job ingest --source click_logs --ds "$D2"
job features --pipeline ctr_default --ds "$D2"
log "generating $DS"
job generate --ds "$DS"

if [[ $ENV == loopback ]]; then
  log "ctr_daily $DS through the loopback cluster's Airflow scheduler (LocalExecutor; logs in $AIRFLOW_HOME/logs)"
  "$PY" -m operators.scheduler ctr_daily --ds "$DS" || true  # the outcome is read back below
else
  export AIRFLOW_HOME=$STATE/airflow
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # operators/ and dags/ import the project's packages
  export AIRFLOW__CORE__DAGS_FOLDER=$PWD/dags
  export AIRFLOW__CORE__LOAD_EXAMPLES=False
  export AIRFLOW__LOGGING__LOGGING_LEVEL=${AIRFLOW__LOGGING__LOGGING_LEVEL:-INFO}
  export CTRFLOW_ENV=$ENV
  mkdir -p "$AIRFLOW_HOME"
  log "Airflow on SQLite in $AIRFLOW_HOME: migrating the metadata database"
  .venv/bin/airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 \
    || { tail -20 "$AIRFLOW_HOME/db-migrate.log" >&2; exit 1; }
  conf=$("$PY" -c 'import json, sys; print(json.dumps({"env": sys.argv[1], "overrides": sys.argv[2:]}))' \
    "$ENV" ${SETS[@]+"${SETS[@]}"})
  log "airflow dags test ctr_daily $DS (run conf $conf)"
  .venv/bin/airflow dags test ctr_daily "$DS" -c "$conf" 2>&1 | tee "$AIRFLOW_HOME/ctr_daily-$DS.log" \
    | grep -E --line-buffered "DAG TEST\] (starting|running) task|Marking task as|ctrflow job command|gate (ACCEPTED|refused)|finished:|ERROR|error:" \
    | sed -E 's/ctrflow job command: ([^ ]+) .*(jobs\/[a-z_]+\.py|-m jobs [a-z_]+)(.*)/ctrflow job command: \2\3/' || true
fi
# the DAG run's outcome, from the metadata database
"$PY" - "$DS" "$ENV" ${SETS[@]+"${SETS[@]}"} <<'PY'
import os
import sys
from pathlib import Path

from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session

from pipelines.common.config import load
from pipelines.registry.store import Registry

ds, env, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
with create_session() as session:
    runs = [r for r in session.query(DagRun).filter(DagRun.dag_id == "ctr_daily").all()
            if r.logical_date and r.logical_date.date().isoformat() == ds]
    run = max(runs, key=lambda r: r.start_date) if runs else None
    state = run.state if run else "not found"
    tasks = {ti.task_id: ti.state for ti in run.get_task_instances(session=session)} if run else {}
print(f"\nctr_daily {ds}: {state}")
if env != "loopback":  # there operators.scheduler has printed each task with its interval
    for task, st in tasks.items():
        print(f"  {task:<28} {st}")
settings = load(env, overrides).settings
reg = Registry.from_settings(settings)
print(f"\nmodels (registry): {reg.location}")
for name in reg.names():
    champ = reg.champion(name)
    on_day = [v for v in reg.versions(name) if v.eval_ds == ds]
    for v in on_day:
        mark = " (champion)" if champ and champ.version == v.version else ""
        print(f"  {name} {v.version}{mark}: {v.uri}  metrics {', '.join(f'{k}={x:.4f}' for k, x in v.metrics.items() if isinstance(x, float))}")
        reports = sorted(Path(v.artifacts.removeprefix('file:')).rglob('*.md')) if '://' not in v.uri else []
        if '://' in v.uri:
            print(f"    report: {v.artifacts}/report/report.md")
        for r in reports:
            print(f"    report: {r}")
out = settings.project.databases.out
print(f"scores: Delta table {out}.scores, partition ds={ds} (warehouse {settings.project.path('warehouse')})")
if env == "loopback":
    print(f"Airflow: {os.environ['AIRFLOW__API__BASE_URL']} (AIRFLOW_HOME={os.environ['AIRFLOW_HOME']}; task logs "
          "under logs/dag_id=ctr_daily/)")
else:
    print(f"Airflow: AIRFLOW_HOME={Path(settings.project.path('airflow'))}, log of this run "
          f"{settings.project.path('airflow', f'ctr_daily-{ds}.log')}")
sys.exit(0 if state == "success" else 1)
PY
