#!/usr/bin/env bash
# Set up ctrflow's project environment: .venv with the pinned Python packages (requirements/lock.txt),
# Horovod built from source with Gloo and C++17 (wheel cached in $CTRFLOW_CACHE), the project itself
# (editable), the JVM jars Spark needs (.jars/, resolved from Maven Central with conf/jars/pom.xml) and
# those of the loopback cluster (.jars-cluster/, conf/jars/cluster-pom.xml: HDFS, PostgreSQL JDBC).
# Idempotent: a second run with unchanged inputs only checks the environment (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=${CTRFLOW_PYTHON:-python3.11}
CACHE=${CTRFLOW_CACHE:-$HOME/.cache/ctrflow}
HOROVOD_VERSION=0.28.1
log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v "$PY" >/dev/null || PY=python3
command -v java >/dev/null || { echo "setup: java (17+) is required for Spark and was not found on PATH" >&2; exit 1; }
command -v mvn >/dev/null || { echo "setup: mvn is required to fetch Spark's jars from Maven Central and was not found on PATH" >&2; exit 1; }

inputs_hash=$(cat requirements/lock.txt conf/jars/pom.xml conf/jars/cluster-pom.xml pyproject.toml scripts/setup.sh \
  | sha256sum | cut -c1-16)
stamp=$VENV/.ctrflow-setup-$inputs_hash
cluster_jars_stamp=.jars-cluster/.pom-$(sha256sum conf/jars/cluster-pom.xml | cut -c1-16)
if [[ -f $stamp && -f $cluster_jars_stamp ]]; then
  exit 0
fi
t0=$(date +%s)

if [[ ! -x $VENV/bin/python ]]; then
  log "creating virtualenv $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

log "installing pinned packages (requirements/lock.txt)"
pip install -q -r requirements/lock.txt

# Horovod: PyPI has only an sdist. It needs C++17 against current torch, and it is built once per
# (horovod, torch, python) and cached, so a second set-up or a fresh clone does not rebuild it.
torch_v=$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')
py_v=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
wheel_dir=$CACHE/wheels/horovod-$HOROVOD_VERSION-torch$torch_v-$py_v
if ! "$VENV/bin/python" -c "import horovod.torch" 2>/dev/null; then
  if ! ls "$wheel_dir"/horovod-*.whl >/dev/null 2>&1; then
    log "building horovod $HOROVOD_VERSION from source with Gloo + PyTorch, C++17 (about 10 minutes on 2 cores)"
    src=$(mktemp -d)
    pip download -q --no-binary :all: --no-deps "horovod==$HOROVOD_VERSION" -d "$src"
    tar xzf "$src/horovod-$HOROVOD_VERSION.tar.gz" -C "$src"
    sed -i 's/CMAKE_CXX_STANDARD 14/CMAKE_CXX_STANDARD 17/' \
      "$src/horovod-$HOROVOD_VERSION/CMakeLists.txt" "$src/horovod-$HOROVOD_VERSION/horovod/torch/CMakeLists.txt"
    mkdir -p "$wheel_dir.tmp"
    HOROVOD_WITH_PYTORCH=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 HOROVOD_WITHOUT_TENSORFLOW=1 \
      HOROVOD_WITHOUT_MXNET=1 HOROVOD_CPU_OPERATIONS=gloo MAKEFLAGS="-j$(nproc)" \
      pip wheel -q --no-build-isolation --no-deps -w "$wheel_dir.tmp" "$src/horovod-$HOROVOD_VERSION"
    rm -rf "$wheel_dir" && mv "$wheel_dir.tmp" "$wheel_dir"
    rm -rf "$src"
  fi
  log "installing cached horovod wheel from $wheel_dir"
  pip install -q --no-deps "$wheel_dir"/horovod-*.whl
fi
check=$("$VENV/bin/horovodrun" --check-build)
if ! grep -q '\[X\] PyTorch' <<<"$check" || ! grep -q '\[X\] Gloo' <<<"$check"; then
  { echo "setup: horovod was built without PyTorch or Gloo:"; echo "$check"; } >&2
  exit 1
fi

log "installing ctrflow (editable)"
pip install -q --no-deps --no-build-isolation -e .

jars_stamp=.jars/.pom-$(sha256sum conf/jars/pom.xml | cut -c1-16)
if [[ ! -f $jars_stamp ]]; then
  log "fetching Spark's JVM jars from Maven Central into .jars/"
  rm -rf .jars.tmp
  mvn -q -B -f conf/jars/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DexcludeTransitive=true \
    -DoutputDirectory="$ROOT/.jars.tmp"
  rm -rf .jars && mv .jars.tmp .jars && touch "$jars_stamp"
fi

# The loopback cluster's jars (scripts/cluster.sh): never on a job's spark.jars, so kept out of .jars/.
# hdfs/ is the HDFS mini cluster with its transitive jars; jdbc/ the PostgreSQL driver alone.
if [[ ! -f $cluster_jars_stamp ]]; then
  log "fetching the loopback cluster's JVM jars (HDFS mini cluster, PostgreSQL JDBC) into .jars-cluster/"
  rm -rf .jars-cluster.tmp
  mvn -q -B -f conf/jars/cluster-pom.xml dependency:copy-dependencies -DincludeScope=runtime \
    -DexcludeArtifactIds=postgresql,checker-qual -DoutputDirectory="$ROOT/.jars-cluster.tmp/hdfs"
  mvn -q -B -f conf/jars/cluster-pom.xml dependency:copy-dependencies -DincludeScope=runtime -DexcludeTransitive=true \
    -DincludeArtifactIds=postgresql -DoutputDirectory="$ROOT/.jars-cluster.tmp/jdbc"
  rm -rf .jars-cluster && mv .jars-cluster.tmp .jars-cluster && touch "$cluster_jars_stamp"
fi

# pyspark-client (pulled by the Airflow provider) overwrites pyspark's files: check they still agree.
"$VENV/bin/python" - <<'PY'
import glob, os, sys
import pyspark
jars = glob.glob(os.path.join(os.path.dirname(pyspark.__file__), "jars", "spark-core_*.jar"))
want = f"spark-core_2.13-{pyspark.__version__}.jar"
if not jars or os.path.basename(jars[0]) != want:
    sys.exit(f"setup: pyspark {pyspark.__version__} does not match its jars {jars}: pyspark-client overwrote it?")
# the cluster's HDFS must be the Hadoop that pyspark's client speaks
hadoop = sorted(glob.glob(os.path.join(os.path.dirname(pyspark.__file__), "jars", "hadoop-client-api-*.jar")))
mini = sorted(glob.glob(os.path.join(".jars-cluster", "hdfs", "hadoop-client-minicluster-*.jar")))
def version(path):
    return os.path.basename(path).rsplit("-", 1)[1].removesuffix(".jar")
if not hadoop or not mini or version(hadoop[0]) != version(mini[0]):
    sys.exit(f"setup: conf/jars/cluster-pom.xml's Hadoop {mini} is not pyspark's {hadoop}: keep the versions equal")
PY

rm -f "$VENV"/.ctrflow-setup-*
touch "$stamp"
log "environment ready in $(( $(date +%s) - t0 )) s; $(du -sh "$VENV" | cut -f1) in .venv, $(du -sh .jars | cut -f1) in .jars, $(du -sh .jars-cluster | cut -f1) in .jars-cluster"
