#!/usr/bin/env bash
# The loopback cluster: every part of a real ctrflow deployment as processes on 127.0.0.1, no Docker.
#   postgres        PostgreSQL (Debian's package) on 127.0.0.1:5433: databases metastore (role hive) and
#                   airflow (role airflow), scram passwords generated once into .state/cluster/secrets.env
#   hdfs            one JVM with a NameNode (hdfs://127.0.0.1:9000, WebHDFS http://127.0.0.1:9870) and one
#                   DataNode: Hadoop's MiniDFSCluster from hadoop-client-minicluster (.jars-cluster/hdfs/)
#   spark-master    Spark standalone master spark://127.0.0.1:7077, UI http://127.0.0.1:8081
#   spark-worker-N  two workers (UIs 8082, 8083), each offering WORKER_CORES cores and WORKER_MEMORY
#   airflow-*       Airflow's scheduler (LocalExecutor), dag-processor and api-server (http://127.0.0.1:8080)
#                   on the airflow database, DAGs from dags/, CTRFLOW_ENV=loopback for the tasks
# State, logs and pid files live under .state/cluster/ (git-ignored); data survives `down`.
#
# Usage: cluster.sh up | down | status | env | airflow ARGS...
#   up       start what is not running (a running part is checked and left alone), wait until each part
#            is healthy; on failure: one line naming the part, the last 20 lines of its log, exit 1
#   down     stop everything up started (process groups, Postgres with pg_ctl stop -m fast), keep data,
#            and check that no process of the cluster is left
#   status   one line per part: up | starting | down, pid, address (exit 1 unless all are up)
#   env      the cluster's addresses as `export` lines: eval "$(scripts/cluster.sh env)"
#   airflow  any airflow CLI command against the cluster's database: cluster.sh airflow dags list
# Environment: CTRFLOW_CLUSTER_STATE (default <repo>/.state/cluster) moves the state directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# ---- addresses ---------------------------------------------------------------------------------------
HOST=127.0.0.1
PG_PORT=5433 # not the default 5432, so as not to collide with a system PostgreSQL
HDFS_PORT=9000
WEBHDFS_PORT=9870
SPARK_PORT=7077
SPARK_UI_PORT=8081
WORKER_UI_PORTS=(8082 8083) # one per worker: the number of entries is the number of workers
AIRFLOW_PORT=8080

# ---- sizes: a 2-core, 24 GB machine with Spark jobs on top of the daemons -----------------------------
# The loopback overlay's `cluster` profile asks for one executor of 2 cores and 1g per job
# (spark.cores.max 2). Each worker offers 4 cores, more than the machine has on purpose: four applications
# (two runs' GBDT+LR xgboost barrier stages and DeepFM Horovod jobs during a backfill) can then hold
# executors at the same time. Executors, their Python workers, the daemons below and the drivers fit in
# 24 GB at the tests' sizes; on bigger days give fewer, larger executors.
WORKER_CORES=4
WORKER_MEMORY=6g
SPARK_DAEMON_HEAP=512m # master and each worker (SPARK_DAEMON_MEMORY); executors are sized by the jobs
HDFS_HEAP=768m         # the one JVM of NameNode + DataNode
AIRFLOW_PARALLELISM=4  # LocalExecutor slots (>= 2: two training tasks at once)
AIRFLOW_API_WORKERS=1

# ---- how long `up` waits for each part to become healthy (seconds, on a loaded 2-core machine) -------
PG_TIMEOUT=60
HDFS_TIMEOUT=180
SPARK_TIMEOUT=120
AIRFLOW_TIMEOUT=240
STOP_GRACE=30 # seconds between SIGTERM and SIGKILL in `down`

STATE=${CTRFLOW_CLUSTER_STATE:-$ROOT/.state/cluster}
LOGS=$STATE/logs
RUN=$STATE/run
# Postgres's files: as root the server runs as the `postgres` user, who may not be able to traverse the
# checkout (a clone under a 0700 directory such as mktemp -d's): then they live in a directory of its own
# under its home, named after this state directory, and $STATE/pg links to it for people to find.
if [[ $EUID -eq 0 ]]; then
  PG_HOME=/var/lib/postgresql/ctrflow-cluster-$(printf %s "$STATE" | sha256sum | cut -c1-12)
else
  PG_HOME=$STATE
fi
PGDATA=$PG_HOME/pg
PGSOCK=$PG_HOME/pg-socket
SECRETS=$STATE/secrets.env
AIRFLOW_ENV=$STATE/airflow.env
AIRFLOW_HOME_DIR=$STATE/airflow
VENV=$ROOT/.venv
PY=$VENV/bin/python
CLUSTER_JARS=$ROOT/.jars-cluster
# Every process the cluster starts carries this variable, and their children inherit it (executors, tasks'
# drivers): `down` looks for it to find what is left. (A process that rewrites its title with setproctitle
# may lose it from /proc/PID/environ: `down` also follows each part's session and descendants.)
MARKER="CTRFLOW_CLUSTER_STATE=$STATE"
WORKERS=()
for i in "${!WORKER_UI_PORTS[@]}"; do WORKERS+=("spark-worker-$((i + 1))"); done
PARTS=(postgres hdfs spark-master "${WORKERS[@]}" airflow-scheduler airflow-dag-processor airflow-api-server)

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  echo "cluster: $*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
logfile() { echo "$LOGS/$1.log"; }

# one line naming the part, the last 20 lines of its log, exit 1
fail() {
  local part=$1 msg=$2 lf
  lf=$(logfile "$part")
  echo "cluster: $part failed: $msg (log: $lf)" >&2
  if [[ -s $lf ]]; then
    echo "--- last 20 lines of $lf ---" >&2
    tail -n 20 "$lf" >&2
  fi
  exit 1
}

# ---- processes ----------------------------------------------------------------------------------------
has_marker() { grep -qzxF "$MARKER" "/proc/$1/environ" 2>/dev/null; }

# a live process's start time (clock ticks after boot): a pid with the same start time is the same
# process; fails for a pid that is gone or a zombie (exited, waiting to be reaped by init)
starttime() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086 # split the fields after "(comm) "
  set -- $s
  [[ $1 != Z ]] && echo "${20}"
}

part_pid() { # the live pid of a part, or nothing (pid files hold "PID STARTTIME")
  local part=$1 pid='' st=''
  if [[ $part == postgres ]]; then
    [[ -f $PGDATA/postmaster.pid ]] || return 0
    pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-D $PGDATA " && echo "$pid"
    return 0
  fi
  [[ -f $RUN/$part.pid ]] && read -r pid st <"$RUN/$part.pid"
  if [[ $pid =~ ^[0-9]+$ && -n $st && $(starttime "$pid" || true) == "$st" ]]; then echo "$pid"; fi
}

# "PID STARTTIME" of a part's process, the members of its session and its descendants
procs_of() {
  local p
  for p in $(ps -e -o pid=,ppid=,sid= | awk -v root="$1" '
      { ppid[$1] = $2; sid[$1] = $3 }
      END {
        for (p in ppid) {
          hit = (sid[p] == root)
          for (q = p; !hit && q > 1 && n++ < 1000; q = ppid[q]) if (q == root) hit = 1
          n = 0
          if (hit) print p
        }
      }'); do
    echo "$p $(starttime "$p" || echo gone)"
  done
}

# every live process of ours: the marker in its environment, or one of the "PID STARTTIME" lines of file $1
our_pids() {
  {
    grep -lzxF "$MARKER" /proc/[0-9]*/environ 2>/dev/null | awk -F/ '{ print $3 }'
    if [[ -n ${1:-} && -s $1 ]]; then
      local pid st
      while read -r pid st; do [[ $(starttime "$pid" || true) == "$st" ]] && echo "$pid"; done <"$1"
    fi
  } | awk -v me=$$ '$1 != me' | sort -un
  return 0
}

# start a part in its own session (process group = its pid), output to its log, pid to run/PART.pid
start_bg() {
  local part=$1 lf
  shift
  lf=$(logfile "$part")
  [[ -f $lf ]] && mv -f "$lf" "$lf.1"
  printf '=== %s: %s\n' "$(date -Is)" "$*" >"$lf"
  env "$MARKER" setsid "$@" >>"$lf" 2>&1 </dev/null 9>&- &
  echo "$! $(starttime $!)" >"$RUN/$part.pid"
}

port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
check_port_free() { # before starting a part: its port must not be held by someone else
  local holder
  port_in_use "$2" || return 0
  holder=$(ss -Hltnp "sport = :$2" 2>/dev/null | grep -o 'users:(.*)' | head -n 1 || true)
  echo "cluster: $1 failed: port $HOST:$2 is in use by another process, not this cluster's $1 (${holder:-holder unknown})" >&2
  exit 1
}

http_ok() { curl -fsS -m 5 -o /dev/null "$1" 2>/dev/null; }
json() { curl -fsS -m 5 "$1" 2>/dev/null; }

# ---- prerequisites and secrets -----------------------------------------------------------------------
pg_bin() {
  local d
  d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n $d && -x $d/postgres ]] && echo "$d"
}

ensure_postgres_installed() {
  [[ -n $(pg_bin) ]] && return 0
  [[ $EUID -eq 0 ]] || die "postgres: PostgreSQL is not installed and installing it needs root: apt-get install -y postgresql"
  log "postgres: installing Debian's postgresql (apt-get, once)"
  # no default cluster on 5432: the cluster makes its own under $PGDATA
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/ctrflow.conf
  {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -o Dpkg::Options::=--force-confold postgresql
  } >"$LOGS/apt-postgresql.log" 2>&1 9>&- || fail apt-postgresql "apt-get install postgresql"
  [[ -n $(pg_bin) ]] || die "postgres: apt-get installed postgresql but no /usr/lib/postgresql/*/bin/postgres"
}

check_prerequisites() {
  [[ -x $PY && -x $VENV/bin/airflow ]] || die "no project virtualenv at $VENV: run \`make setup\` first"
  command -v java >/dev/null || die "java (17+) is not on PATH"
  ls "$CLUSTER_JARS"/hdfs/hadoop-client-minicluster-*.jar >/dev/null 2>&1 \
    || die "no HDFS jars in $CLUSTER_JARS/hdfs: run \`make setup\` (scripts/setup.sh fetches conf/jars/cluster-pom.xml)"
  for c in curl ss setsid; do command -v "$c" >/dev/null || die "$c is not on PATH"; done
}

# Passwords and keys, generated once (URL-safe: they go into a postgresql:// URL unescaped).
ensure_secrets() {
  [[ -s $SECRETS ]] && return 0
  (
    umask 077
    "$PY" - >"$SECRETS.tmp" <<'PY'
import secrets
from cryptography.fernet import Fernet

for name in ("CTRFLOW_METASTORE_PASSWORD", "AIRFLOW_DB_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY"):
    print(f"export {name}={secrets.token_urlsafe(32)}")
print(f"export AIRFLOW_FERNET_KEY={Fernet.generate_key().decode()}")
PY
    mv "$SECRETS.tmp" "$SECRETS"
  )
  chmod 600 "$SECRETS"
  log "generated passwords and keys into $SECRETS (mode 0600)"
}

load_secrets() {
  # shellcheck source=/dev/null
  source "$SECRETS"
}

# ---- PostgreSQL --------------------------------------------------------------------------------------
# initdb refuses root: as root, Postgres runs as the `postgres` system user; otherwise as the caller.
if [[ $EUID -eq 0 ]]; then PG_USER=postgres; else PG_USER=$(id -un); fi
as_pg() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- env "$MARKER" "$@"; else env "$MARKER" "$@"; fi
}
psql_super() { as_pg "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PG_PORT" -U "$PG_USER" "$@"; }
pg_ready() { "$(pg_bin)/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2; }

start_postgres() {
  local bin lf
  bin=$(pg_bin)
  lf=$(logfile postgres)
  if [[ $EUID -eq 0 ]]; then
    [[ -d $STATE/pg && ! -L $STATE/pg ]] \
      && fail postgres "$STATE/pg is a data directory of an older layout: move it to $PGDATA, or remove $STATE to start afresh"
    install -d -o postgres -g postgres -m 700 "$PG_HOME" "$PGDATA" "$PGSOCK"
    ln -sfn "$PG_HOME" "$STATE/pg"
    # the server writes its log where it can: $LOGS/postgres.log links to it
    [[ -f $PG_HOME/postgres.log ]] && mv -f "$PG_HOME/postgres.log" "$PG_HOME/postgres.log.1"
    install -o postgres -g postgres -m 600 /dev/null "$PG_HOME/postgres.log"
    ln -sfn "$PG_HOME/postgres.log" "$lf"
    lf=$PG_HOME/postgres.log
  else
    mkdir -p "$PGDATA" "$PGSOCK"
    chmod 700 "$PGDATA"
    [[ -f $lf ]] && mv -f "$lf" "$lf.1"
    : >"$lf"
  fi
  if [[ ! -f $PGDATA/PG_VERSION ]]; then
    log "postgres: initdb $PGDATA"
    as_pg "$bin/initdb" -D "$PGDATA" -U "$PG_USER" -E UTF8 --locale=C.UTF-8 --auth-local=peer \
      --auth-host=scram-sha-256 --no-instructions >>"$lf" 2>&1 9>&- || fail postgres "initdb"
  fi
  # only our two roles, each on its own database, by password over TCP; the superuser by socket (peer)
  cat >"$PGDATA/pg_hba.conf" <<EOF
# written by scripts/cluster.sh on every start
local   all        $PG_USER                  peer
host    metastore  hive      $HOST/32  scram-sha-256
host    airflow    airflow   $HOST/32  scram-sha-256
EOF
  [[ $EUID -eq 0 ]] && chown postgres: "$PGDATA/pg_hba.conf"
  check_port_free postgres "$PG_PORT"
  as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$lf" -w -t "$PG_TIMEOUT" -s \
    -o "-c listen_addresses=$HOST -c port=$PG_PORT -c unix_socket_directories='$PGSOCK' -c password_encryption=scram-sha-256 -c shared_buffers=64MB -c max_connections=100" \
    start >/dev/null 9>&- || fail postgres "pg_ctl start"
}

wait_postgres() {
  local t0=$SECONDS
  until pg_ready; do
    ((SECONDS - t0 < PG_TIMEOUT)) || fail postgres "not ready after ${PG_TIMEOUT}s (pg_isready $HOST:$PG_PORT)"
    sleep 1
  done
}

# Roles and databases, idempotent; the passwords of secrets.env are (re)applied on every `up`. The SQL goes
# by stdin, and this session neither logs statements nor the statement of an error.
ensure_pg_databases() {
  psql_super -d postgres 9>&- <<SQL || fail postgres "creating the roles and databases"
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SELECT format('CREATE ROLE %I LOGIN', r) FROM (VALUES ('hive'), ('airflow')) AS v(r)
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE hive WITH LOGIN PASSWORD '$CTRFLOW_METASTORE_PASSWORD';
ALTER ROLE airflow WITH LOGIN PASSWORD '$AIRFLOW_DB_PASSWORD';
SELECT 'CREATE DATABASE metastore OWNER hive' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'metastore') \gexec
SELECT 'CREATE DATABASE airflow OWNER airflow' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'airflow') \gexec
REVOKE CONNECT ON DATABASE metastore FROM PUBLIC;
REVOKE CONNECT ON DATABASE airflow FROM PUBLIC;
SQL
}

# A client's login as the JDBC driver and Airflow make it: TCP to 127.0.0.1, scram, the password.
check_pg_logins() {
  "$PY" - "$HOST" "$PG_PORT" 2>&1 <<'PY' || fail postgres "password login to the metastore or airflow database"
import os, sys
import psycopg2

host, port = sys.argv[1], int(sys.argv[2])
for db, user, var in (("metastore", "hive", "CTRFLOW_METASTORE_PASSWORD"), ("airflow", "airflow", "AIRFLOW_DB_PASSWORD")):
    try:
        with psycopg2.connect(host=host, port=port, dbname=db, user=user, password=os.environ[var], connect_timeout=5) as c:
            c.cursor().execute("SELECT 1")
    except psycopg2.Error as e:
        sys.exit(f"login as {user} to {db} on {host}:{port}: {str(e).strip().splitlines()[0]}")
PY
}

stop_postgres() {
  local pid t1
  t1=$(now)
  pid=$(part_pid postgres)
  [[ -n $pid ]] || return 0
  if as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA" -m fast -w -t "$STOP_GRACE" -s stop >/dev/null 9>&-; then
    log "postgres: stopped (pid $pid, pg_ctl stop -m fast) in $(since "$t1") s"
  else
    log "postgres: pg_ctl stop -m fast did not finish; what is left is killed below"
  fi
}

# ---- HDFS (NameNode + DataNode in one JVM) ------------------------------------------------------------
start_hdfs() {
  local base=$STATE/hdfs format=()
  mkdir -p "$base/data" "$base/tmp"
  rm -rf "${base:?}/tmp/"*
  # format only a new cluster: the namespace and blocks are kept across restarts
  [[ -d $base/data/name-0-1/current ]] || format=(-format)
  cat >"$base/log4j.properties" <<'EOF'
log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %-5p %c{2}: %m%n
# one line per block and per client operation otherwise
log4j.logger.BlockStateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN
log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode=WARN
EOF
  check_port_free hdfs "$HDFS_PORT"
  check_port_free hdfs "$WEBHDFS_PORT"
  # MiniHadoopClusterManager (in hadoop-client-minicluster): a MiniDFSCluster on fixed ports, no YARN/MR
  start_bg hdfs java "-Xmx$HDFS_HEAP" -Djava.io.tmpdir="$base/tmp" \
    -Dlog4j.configuration="file:$base/log4j.properties" -cp "$CLUSTER_JARS/hdfs/*" \
    org.apache.hadoop.mapreduce.MiniHadoopClusterManager -nomr "${format[@]}" \
    -nnport "$HDFS_PORT" -nnhttpport "$WEBHDFS_PORT" -datanodes 1 \
    -D "hdfs.minidfs.basedir=$base/data" -D dfs.webhdfs.enabled=true -D dfs.permissions.enabled=false \
    -writeConfig "$base/hdfs-site.xml"
}

# WebHDFS answers, the DataNode is live and the NameNode is out of safe mode
hdfs_healthy() {
  http_ok "http://$HOST:$WEBHDFS_PORT/webhdfs/v1/?op=GETFILESTATUS" || return 1
  json "http://$HOST:$WEBHDFS_PORT/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState" \
    | "$PY" -c 'import json, sys; b = json.load(sys.stdin)["beans"][0]; sys.exit(not (b["NumLiveDataNodes"] >= 1 and b["FSState"] == "Operational"))' 2>/dev/null \
    || return 1
  json "http://$HOST:$WEBHDFS_PORT/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo" \
    | "$PY" -c 'import json, sys; sys.exit(bool(json.load(sys.stdin)["beans"][0]["Safemode"]))' 2>/dev/null
}

wait_hdfs() {
  local t0=$SECONDS
  until hdfs_healthy; do
    [[ -n $(part_pid hdfs) ]] || fail hdfs "the NameNode/DataNode JVM exited"
    ((SECONDS - t0 < HDFS_TIMEOUT)) || fail hdfs "WebHDFS not answering, no live DataNode or still in safe mode after ${HDFS_TIMEOUT}s"
    sleep 2
  done
  curl -fsS -m 10 -X PUT "http://$HOST:$WEBHDFS_PORT/webhdfs/v1/ctrflow?op=MKDIRS&user.name=$(id -un)" \
    -o /dev/null || fail hdfs "cannot create /ctrflow through WebHDFS"
}

# ---- Spark standalone --------------------------------------------------------------------------------
spark_home() {
  local d
  for d in "$VENV"/lib/python3*/site-packages/pyspark; do [[ -x $d/bin/spark-class ]] && echo "$d" && return; done
  die "no pyspark with bin/spark-class in $VENV"
}

spark_env() { # the environment of master and workers (executors inherit the workers')
  mkdir -p "$STATE/spark-conf" "$LOGS" "$RUN" "$STATE/spark-local"
  SPARK_HOME=$(spark_home)
  SPARK_DAEMON_ENV=(
    "SPARK_HOME=$SPARK_HOME"
    "SPARK_CONF_DIR=$STATE/spark-conf" # empty: nothing from the pyspark directory's conf/ applies
    "SPARK_LOG_DIR=$LOGS" "SPARK_PID_DIR=$RUN" "SPARK_LOCAL_DIRS=$STATE/spark-local"
    "SPARK_DAEMON_MEMORY=$SPARK_DAEMON_HEAP" "SPARK_LOCAL_IP=$HOST" "PYSPARK_PYTHON=$PY"
    # the workers delete finished applications' work directories after two days
    "SPARK_WORKER_OPTS=-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=172800"
    # no REST submission server (port 6066): jobs are submitted by spark-submit / SparkSession in client mode
    "SPARK_MASTER_OPTS=-Dspark.master.rest.enabled=false"
  )
}

start_spark_master() {
  check_port_free spark-master "$SPARK_PORT"
  check_port_free spark-master "$SPARK_UI_PORT"
  start_bg spark-master env "${SPARK_DAEMON_ENV[@]}" "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host "$HOST" --port "$SPARK_PORT" --webui-port "$SPARK_UI_PORT"
}

start_spark_worker() { # N (1-based)
  local n=$1 ui=${WORKER_UI_PORTS[$(($1 - 1))]}
  check_port_free "spark-worker-$n" "$ui"
  mkdir -p "$STATE/spark-work-$n"
  start_bg "spark-worker-$n" env "${SPARK_DAEMON_ENV[@]}" "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
    "spark://$HOST:$SPARK_PORT" --host "$HOST" --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" \
    --work-dir "$STATE/spark-work-$n" --webui-port "$ui"
}

# The RPC ports of the workers the master lists as ALIVE ("" when the master does not answer). A worker
# killed without a goodbye stays ALIVE there for a minute, so a worker part counts as registered only when
# its own process listens on one of these ports.
spark_alive_ports() {
  json "http://$HOST:$SPARK_UI_PORT/json/" | "$PY" -c '
import json, sys
print(" ".join(str(w["port"]) for w in json.load(sys.stdin).get("workers", []) if w.get("state") == "ALIVE"))' 2>/dev/null
}

worker_registered() { # PART ALIVE_PORTS
  local pid port
  pid=$(part_pid "$1")
  [[ -n $pid ]] || return 1
  for port in $(ss -Hltnp 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) { n = split($4, a, ":"); print a[n] }'); do
    [[ " $2 " == *" $port "* ]] && return 0
  done
  return 1
}

wait_spark() {
  local t0=$SECONDS alive part missing
  while :; do
    alive=$(spark_alive_ports || true)
    missing=()
    for part in "${WORKERS[@]}"; do worker_registered "$part" "$alive" || missing+=("$part"); done
    ((${#missing[@]})) || return 0
    for part in spark-master "${WORKERS[@]}"; do
      [[ -n $(part_pid "$part") ]] || fail "$part" "the process exited"
    done
    if ((SECONDS - t0 >= SPARK_TIMEOUT)); then
      http_ok "http://$HOST:$SPARK_UI_PORT/json/" || fail spark-master "UI http://$HOST:$SPARK_UI_PORT/json/ not answering after ${SPARK_TIMEOUT}s"
      fail "${missing[0]}" "not ALIVE at the master spark://$HOST:$SPARK_PORT after ${SPARK_TIMEOUT}s"
    fi
    sleep 2
  done
}

# ---- Airflow -----------------------------------------------------------------------------------------
# The env file every Airflow process and `cluster.sh airflow` sources. No secret in it: it sources
# secrets.env, whose values it names.
write_airflow_env() {
  cat >"$AIRFLOW_ENV.tmp" <<EOF
# The loopback cluster's Airflow (written by scripts/cluster.sh up): source it to run the airflow CLI against
# the cluster's database (or use \`scripts/cluster.sh airflow ...\`). Secrets come from secrets.env.
source $(printf %q "$SECRETS")
export AIRFLOW_HOME=$(printf %q "$AIRFLOW_HOME_DIR")
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=$AIRFLOW_PARALLELISM
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow:\${AIRFLOW_DB_PASSWORD}@$HOST:$PG_PORT/airflow"
export AIRFLOW__CORE__DAGS_FOLDER=$(printf %q "$ROOT/dags")
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__FERNET_KEY="\${AIRFLOW_FERNET_KEY}"
export AIRFLOW__API_AUTH__JWT_SECRET="\${AIRFLOW_JWT_SECRET}"
export AIRFLOW__API__SECRET_KEY="\${AIRFLOW_API_SECRET_KEY}"
export AIRFLOW__API__HOST=$HOST
export AIRFLOW__API__PORT=$AIRFLOW_PORT
export AIRFLOW__API__WORKERS=$AIRFLOW_API_WORKERS
export AIRFLOW__API__BASE_URL=http://$HOST:$AIRFLOW_PORT
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://$HOST:$AIRFLOW_PORT/execution/
# what the tasks (the jobs' spark-submit drivers) need
export CTRFLOW_ENV=loopback
export PYTHONPATH=$(printf %q "$ROOT")
export PYSPARK_PYTHON=$(printf %q "$PY")
export SPARK_LOCAL_IP=$HOST
export PATH=$(printf %q "$VENV/bin"):\$PATH
$(print_env)
EOF
  mv "$AIRFLOW_ENV.tmp" "$AIRFLOW_ENV"
}

load_airflow_env() {
  [[ -f $AIRFLOW_ENV && -f $SECRETS ]] || die "no $AIRFLOW_ENV: run \`scripts/cluster.sh up\` first"
  # shellcheck source=/dev/null
  source "$AIRFLOW_ENV"
}

airflow_migrate() {
  local t0 lf
  t0=$(now)
  lf=$(logfile airflow-db-migrate)
  log "airflow: db migrate (postgres $HOST:$PG_PORT/airflow)"
  (load_airflow_env && exec "$VENV/bin/airflow" db migrate) >"$lf" 2>&1 9>&- || fail airflow-db-migrate "airflow db migrate"
  log "airflow: db migrate done in $(since "$t0") s"
}

start_airflow() { # PART: scheduler | dag-processor | api-server
  local what=${1#airflow-} args=()
  [[ $what == api-server ]] && args=(--host "$HOST" --port "$AIRFLOW_PORT" --workers "$AIRFLOW_API_WORKERS")
  # the log server would listen on every interface (port 8793, host not configurable); the api-server
  # reads the tasks' logs from AIRFLOW_HOME/logs on this machine instead
  [[ $what == scheduler ]] && args=(--skip-serve-logs)
  [[ $what == api-server ]] && check_port_free "$1" "$AIRFLOW_PORT"
  mkdir -p "$AIRFLOW_HOME_DIR"
  # shellcheck disable=SC2016 # expanded by the inner bash
  start_bg "$1" bash -c 'source "$1" && shift && exec "$@"' airflow-env "$AIRFLOW_ENV" \
    "$VENV/bin/airflow" "$what" "${args[@]}"
}

# the api-server's health: the metadata database, and the scheduler's and dag-processor's heartbeats
airflow_health() { # prints "<component>:<status> ..." ; true when the api-server answers
  json "http://$HOST:$AIRFLOW_PORT/api/v2/monitor/health" | "$PY" -c '
import json, sys
h = json.load(sys.stdin)
print(" ".join(k + ":" + str((v or {}).get("status")) for k, v in h.items()))' 2>/dev/null
}

wait_airflow() {
  local t0=$SECONDS h part
  while :; do
    h=$(airflow_health || true)
    if [[ " $h " == *" metadatabase:healthy "* && " $h " == *" scheduler:healthy "* && " $h " == *" dag_processor:healthy "* ]]; then
      return 0
    fi
    for part in airflow-api-server airflow-scheduler airflow-dag-processor; do
      [[ -n $(part_pid "$part") ]] || fail "$part" "the process exited"
    done
    if ((SECONDS - t0 >= AIRFLOW_TIMEOUT)); then
      [[ -n $h ]] || fail airflow-api-server "http://$HOST:$AIRFLOW_PORT/api/v2/monitor/health not answering after ${AIRFLOW_TIMEOUT}s"
      [[ " $h " == *" scheduler:healthy "* ]] || fail airflow-scheduler "not healthy after ${AIRFLOW_TIMEOUT}s ($h)"
      [[ " $h " == *" dag_processor:healthy "* ]] || fail airflow-dag-processor "not healthy after ${AIRFLOW_TIMEOUT}s ($h)"
      fail airflow-api-server "unhealthy after ${AIRFLOW_TIMEOUT}s ($h)"
    fi
    sleep 2
  done
}

# ---- stopping ----------------------------------------------------------------------------------------
# SIGTERM to each part's whole session (its process group and what its children moved elsewhere) and
# descendants, all parts at once; SIGKILL to what is left after STOP_GRACE seconds
stop_parts() {
  local part pid pids t0 t1 live=() left
  t1=$(now)
  for part in "$@"; do
    pid=$(part_pid "$part")
    [[ -n $pid ]] && live+=("$part:$pid")
    [[ -z $pid ]] && rm -f "$RUN/$part.pid"
  done
  ((${#live[@]})) || return 0
  tree() { # live pids of the parts' trees
    local e
    for e in "${live[@]}"; do procs_of "${e#*:}"; done | awk '$2 != "gone" { print $1 }'
  }
  mapfile -t pids < <(tree)
  for e in "${live[@]}"; do kill -TERM -- "-${e#*:}" 2>/dev/null || true; done
  kill -TERM "${pids[@]}" 2>/dev/null || true
  t0=$SECONDS
  while ((SECONDS - t0 < STOP_GRACE)); do
    mapfile -t pids < <(tree)
    ((${#pids[@]})) || break
    sleep 0.5
  done
  if ((${#pids[@]})); then
    left=$(ps -o args= -p "$(
      IFS=,
      echo "${pids[*]}"
    )" 2>/dev/null | cut -c1-60 | paste -sd';' || true)
    log "still running ${STOP_GRACE}s after SIGTERM, SIGKILL: ${left:-${pids[*]}}"
    for e in "${live[@]}"; do kill -KILL -- "-${e#*:}" 2>/dev/null || true; done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  for e in "${live[@]}"; do rm -f "$RUN/${e%%:*}.pid"; done
  log "stopped ${live[*]} (part:pid) in $(since "$t1") s"
}

# ---- commands ----------------------------------------------------------------------------------------
print_env() {
  local jdbc
  jdbc=$(find "$CLUSTER_JARS/jdbc" -name 'postgresql-*.jar' 2>/dev/null | sort -V | tail -n 1 || true)
  printf 'export %s=%q\n' \
    CTRFLOW_HDFS "hdfs://$HOST:$HDFS_PORT" \
    CTRFLOW_WEBHDFS "$HOST:$WEBHDFS_PORT" \
    CTRFLOW_SPARK_MASTER "spark://$HOST:$SPARK_PORT" \
    CTRFLOW_METASTORE_JDBC_URL "jdbc:postgresql://$HOST:$PG_PORT/metastore" \
    CTRFLOW_METASTORE_USER hive \
    CTRFLOW_METASTORE_JDBC_JAR "${jdbc:-$CLUSTER_JARS/jdbc/postgresql.jar}" \
    CTRFLOW_CLUSTER_SECRETS "$SECRETS" \
    CTRFLOW_AIRFLOW_URL "http://$HOST:$AIRFLOW_PORT"
}

cmd_up() {
  local t0 part started=() n
  t0=$(now)
  mkdir -p "$STATE" "$LOGS" "$RUN"
  chmod 755 "$STATE"
  check_prerequisites
  ensure_postgres_installed
  ensure_secrets
  spark_env

  # the JVMs first: they take longest and start while Postgres and Airflow's migration run
  if [[ -n $(part_pid hdfs) ]]; then log "hdfs: running (pid $(part_pid hdfs))"; else
    start_hdfs
    started+=(hdfs)
  fi
  if [[ -n $(part_pid spark-master) ]]; then log "spark-master: running (pid $(part_pid spark-master))"; else
    start_spark_master
    started+=(spark-master)
  fi

  if [[ -n $(part_pid postgres) ]]; then log "postgres: running (pid $(part_pid postgres))"; else
    start_postgres
    started+=(postgres)
  fi
  wait_postgres
  # the secrets only in this subshell, so that HDFS and Spark do not inherit them (the Airflow parts
  # source airflow.env, which sources secrets.env)
  (
    load_secrets
    ensure_pg_databases
    check_pg_logins
  ) || exit 1
  [[ " ${started[*]} " == *" postgres "* ]] && log "postgres: ready on $HOST:$PG_PORT"

  for n in $(seq 1 "${#WORKER_UI_PORTS[@]}"); do
    part=spark-worker-$n
    if [[ -n $(part_pid "$part") ]]; then log "$part: running (pid $(part_pid "$part"))"; else
      start_spark_worker "$n"
      started+=("$part")
    fi
  done

  write_airflow_env
  local need_airflow=()
  for part in airflow-scheduler airflow-dag-processor airflow-api-server; do
    if [[ -n $(part_pid "$part") ]]; then log "$part: running (pid $(part_pid "$part"))"; else need_airflow+=("$part"); fi
  done
  if ((${#need_airflow[@]})); then
    airflow_migrate
    for part in "${need_airflow[@]}"; do
      start_airflow "$part"
      started+=("$part")
    done
  fi
  ((${#started[@]})) && log "started: ${started[*]}; waiting until healthy"

  wait_hdfs
  log "hdfs: healthy (hdfs://$HOST:$HDFS_PORT, WebHDFS http://$HOST:$WEBHDFS_PORT, /ctrflow present)"
  wait_spark
  log "spark: master spark://$HOST:$SPARK_PORT with ${#WORKER_UI_PORTS[@]} ALIVE workers ($WORKER_CORES cores, $WORKER_MEMORY each)"
  wait_airflow
  log "airflow: healthy (http://$HOST:$AIRFLOW_PORT; scheduler, dag-processor)"
  log "cluster up in $(since "$t0") s (state $STATE; \`scripts/cluster.sh status\`, \`scripts/cluster.sh down\`)"
}

cmd_down() {
  local t0 part left=() p pid snap
  t0=$(now)
  mkdir -p "$RUN"
  # what each part runs now (sessions, descendants): checked once everything is stopped
  snap=$RUN/down-snapshot
  : >"$snap"
  for part in "${PARTS[@]}"; do
    pid=$(part_pid "$part")
    [[ -n $pid ]] && procs_of "$pid" >>"$snap"
  done
  # Airflow first (its tasks drive Spark jobs; it needs Postgres to stop cleanly), then Spark and HDFS
  # together, Postgres last
  stop_parts airflow-api-server airflow-dag-processor airflow-scheduler
  stop_parts "${WORKERS[@]}" spark-master hdfs
  [[ -n $(pg_bin) ]] && stop_postgres
  # anything of ours still alive (a task that left its session, an orphaned executor): TERM, then KILL
  mapfile -t left < <(our_pids "$snap")
  if ((${#left[@]})); then
    log "stopping ${#left[@]} leftover process(es) of the cluster: ${left[*]}"
    kill -TERM "${left[@]}" 2>/dev/null || true
    for _ in $(seq 1 20); do
      mapfile -t left < <(our_pids "$snap")
      ((${#left[@]})) || break
      sleep 0.5
    done
    if ((${#left[@]})); then
      kill -KILL "${left[@]}" 2>/dev/null || true
      sleep 1
    fi
  fi
  mapfile -t left < <(our_pids "$snap")
  if ((${#left[@]})); then
    echo "cluster: down left processes running:" >&2
    for p in "${left[@]}"; do ps -o pid=,user=,args= -p "$p" >&2 || true; done
    exit 1
  fi
  rm -f "$snap"
  log "cluster down in $(since "$t0") s: no process of it is left (data kept in $STATE)"
}

part_line() { # PART STATUS PID ADDRESS
  printf '%-22s %-9s %-12s %s\n' "$1" "$2" "${3:+pid $3}" "$4"
}

cmd_status() {
  local pid part ok=0 h alive n ui
  pid=$(part_pid postgres)
  if [[ -z $pid ]]; then part_line postgres down "" "$HOST:$PG_PORT"; ok=1
  elif [[ -n $(pg_bin) ]] && pg_ready; then part_line postgres up "$pid" "$HOST:$PG_PORT (databases metastore, airflow)"
  else part_line postgres starting "$pid" "$HOST:$PG_PORT"; ok=1; fi

  pid=$(part_pid hdfs)
  if [[ -z $pid ]]; then part_line hdfs down "" "hdfs://$HOST:$HDFS_PORT"; ok=1
  elif hdfs_healthy; then part_line hdfs up "$pid" "hdfs://$HOST:$HDFS_PORT  WebHDFS http://$HOST:$WEBHDFS_PORT"
  else part_line hdfs starting "$pid" "hdfs://$HOST:$HDFS_PORT (WebHDFS down, no DataNode or safe mode)"; ok=1; fi

  alive=$(spark_alive_ports || true)
  pid=$(part_pid spark-master)
  if [[ -z $pid ]]; then part_line spark-master down "" "spark://$HOST:$SPARK_PORT"; ok=1
  elif http_ok "http://$HOST:$SPARK_UI_PORT/json/"; then part_line spark-master up "$pid" "spark://$HOST:$SPARK_PORT  UI http://$HOST:$SPARK_UI_PORT"
  else part_line spark-master starting "$pid" "spark://$HOST:$SPARK_PORT"; ok=1; fi
  for n in $(seq 1 "${#WORKER_UI_PORTS[@]}"); do
    part=spark-worker-$n ui=${WORKER_UI_PORTS[$((n - 1))]}
    pid=$(part_pid "$part")
    if [[ -z $pid ]]; then part_line "$part" down "" "UI http://$HOST:$ui"; ok=1
    elif worker_registered "$part" "$alive"; then part_line "$part" up "$pid" "UI http://$HOST:$ui ($WORKER_CORES cores, $WORKER_MEMORY; ALIVE at the master)"
    else part_line "$part" starting "$pid" "UI http://$HOST:$ui (not ALIVE at the master)"; ok=1; fi
  done

  h=$(airflow_health || true)
  for part in airflow-scheduler airflow-dag-processor airflow-api-server; do
    pid=$(part_pid "$part")
    local key=${part#airflow-}
    key=${key//-/_}
    [[ $key == api_server ]] && key=metadatabase
    if [[ -z $pid ]]; then part_line "$part" down "" ""; ok=1
    elif [[ " $h " == *" $key:healthy "* ]]; then
      part_line "$part" up "$pid" "$([[ $part == airflow-api-server ]] && echo "http://$HOST:$AIRFLOW_PORT")"
    else part_line "$part" starting "$pid" "(health: ${h:-no answer})"; ok=1; fi
  done
  return $ok
}

cmd_airflow() {
  load_airflow_env
  exec "$VENV/bin/airflow" "$@"
}

case ${1:-} in
  up | down)
    mkdir -p "$STATE"
    # one up/down at a time (fd 9 is closed in everything started, so daemons do not hold the lock)
    exec 9>"$STATE/.lock"
    flock -w 900 9 || die "another cluster.sh up/down holds $STATE/.lock"
    "cmd_$1"
    ;;
  status) cmd_status ;;
  env) print_env ;;
  airflow)
    shift
    cmd_airflow "$@"
    ;;
  *)
    echo "usage: $0 up | down | status | env | airflow ARGS..." >&2
    exit 2
    ;;
esac
