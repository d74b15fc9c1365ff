"""Spark session factory: named profiles from conf/base/spark.yml.

The `local` profile is local[*] with a Hive catalog on an embedded Derby metastore and a warehouse
under the project state directory, Delta's SQL extension and catalog, Arrow on, small shuffles.
Under spark-submit, what spark-submit was given (master, deploy mode) wins over the profile.

Embedded Derby admits one JVM per metastore: a process that starts Spark on it first takes an exclusive
flock on `<state>/metastore_db.ctrflow-lock` for its whole life, so a second job on the same state
directory fails at once with one line instead of Hive's `Unable to instantiate SessionHiveMetaStoreClient`.
The kernel drops the flock when the holder exits or is killed, so a stale lock cannot block (Derby's own
`db.lck` survives a kill and is not looked at).
"""

from __future__ import annotations

import glob
import logging
import os
import sys

from pipelines.core.errors import ConfigError, CtrflowError, debug_from_env
from pipelines.settings import Settings, resolve_path

log = logging.getLogger("ctrflow.spark")

# Whole-stage codegen of wide rows (40 raw columns, dozens of contract checks) produces methods above
# HotSpot's 8000-byte JIT limit, which then run interpreted: 2x slower validation in bench/ingest.py.
JVM_OPTIONS = "-XX:-DontCompileHugeMethods"

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def app_name(settings: Settings, job: str, ds: object) -> str:
    """`ctrflow <job> <ds>`: what a job's application is called in the cluster manager's UI and logs."""
    return f"{settings.spark.app_name} {job} {ds}"


def session_conf(settings: Settings, profile_name: str | None = None) -> dict[str, str]:
    """The Spark conf entries a profile stands for (pure: tests and the Airflow operator read it)."""
    name = profile_name or settings.spark.profile
    if name not in settings.spark.profiles:
        raise ConfigError(
            f"spark profile '{name}' is not defined in spark.yml (known: {', '.join(sorted(settings.spark.profiles))})"
        )
    profile = settings.spark.profiles[name]
    project = settings.project
    conf: dict[str, str] = {
        "spark.app.name": settings.spark.app_name,
        "spark.sql.warehouse.dir": project.path("warehouse"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.session.timeZone": "UTC",
        # a Python worker that dies (UDF, mapInArrow: xgboost, torch, faiss) reports its Python stack in
        # the task's error instead of only "Python worker exited unexpectedly (crashed)"
        "spark.python.worker.faulthandler.enabled": "true",
        "spark.sql.execution.pyspark.udf.faulthandler.enabled": "true",
    }
    java = f"{JVM_OPTIONS} {profile.java_options}".strip()
    conf["spark.driver.extraJavaOptions"] = java
    conf["spark.executor.extraJavaOptions"] = java
    if profile.master:
        conf["spark.master"] = profile.master
        if profile.master.startswith("local"):
            # executors of a local master run this interpreter (the project virtualenv)
            conf["spark.pyspark.python"] = sys.executable
            conf["spark.pyspark.driver.python"] = sys.executable
    if profile.metastore == "embedded_derby":
        state = project.path()
        conf.update(
            {
                "spark.sql.catalogImplementation": "hive",
                "spark.hadoop.javax.jdo.option.ConnectionURL": (
                    f"jdbc:derby:;databaseName={state}/metastore_db;create=true"
                ),
                "spark.hadoop.datanucleus.schema.autoCreateAll": "true",
                "spark.hadoop.hive.metastore.schema.verification": "false",
                "spark.driver.extraJavaOptions": f"{java} -Dderby.system.home={state}",
            }
        )
    elif profile.metastore == "jdbc":
        db = profile.metastore_jdbc
        conf.update(
            {
                "spark.sql.catalogImplementation": "hive",
                "spark.hadoop.javax.jdo.option.ConnectionURL": db.url,
                "spark.hadoop.javax.jdo.option.ConnectionDriverName": db.driver,
                "spark.hadoop.javax.jdo.option.ConnectionUserName": db.user,
                # the schema is created as sessions need it (DataNucleus), never checked (Spark's built-in
                # Hive 2.3 client writes no version row): its tables and columns, without foreign keys.
                # DataNucleus adds a new table's keys on a second connection while the first holds row locks
                # on the referenced table (CREATE TABLE inserts into TBLS, then the key of the new TBL_PRIVS
                # on TBLS waits for that transaction): a deadlock inside one JVM on Postgres. autoCreateAll
                # would turn the keys back on.
                "spark.hadoop.datanucleus.schema.autoCreateTables": "true",
                "spark.hadoop.datanucleus.schema.autoCreateColumns": "true",
                "spark.hadoop.datanucleus.schema.autoCreateConstraints": "false",
                "spark.hadoop.datanucleus.schema.validateConstraints": "false",
                "spark.hadoop.hive.metastore.schema.verification": "false",
                "spark.driver.extraClassPath": ":".join(metastore_driver_jars(db.driver_jars)),
            }
        )
    elif profile.metastore == "external":
        conf["spark.sql.catalogImplementation"] = "hive"
        conf["spark.hadoop.hive.metastore.uris"] = profile.metastore_uris
    else:
        conf["spark.sql.catalogImplementation"] = "in-memory"
    if profile.delta:
        conf.update(DELTA_CONF)
    if profile.jars:
        conf["spark.jars"] = ",".join(project_jars(settings))
    conf.update({k: _str(v) for k, v in profile.conf.items()})
    return conf


def _str(v: object) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def project_jars(settings: Settings) -> list[str]:
    jars = sorted(glob.glob(os.path.join(settings.project.jars_path, "*.jar")))
    if not jars:
        raise ConfigError(
            f"no jars in {settings.project.jars_path}: run `make setup` (scripts/setup.sh) to fetch "
            "Spark's jars (Delta) from Maven Central"
        )
    return jars


def metastore_driver_jars(pattern: str) -> list[str]:
    jars = sorted(glob.glob(resolve_path(pattern)))
    if not jars:
        raise ConfigError(
            f"metastore_jdbc.driver_jars {pattern}: no jar found; run `make setup` (it fetches the JDBC driver "
            "from Maven Central with conf/jars/cluster-pom.xml)"
        )
    return jars


def metastore_password(settings: Settings, profile_name: str | None = None) -> dict[str, str]:
    """The metastore password conf entry of a `jdbc` profile, read from the environment at session start
    (never in a config file, a command line or a log); {} for other metastores."""
    profile = settings.spark.profiles[profile_name or settings.spark.profile]
    if profile.metastore != "jdbc":
        return {}
    var = profile.metastore_jdbc.password_env
    if not os.environ.get(var):
        raise ConfigError(
            f"spark profile {profile_name or settings.spark.profile}: the metastore password is read from ${var}, "
            "which is not set (for the loopback cluster: source .state/cluster/secrets.env)"
        )
    return {"spark.hadoop.javax.jdo.option.ConnectionPassword": os.environ[var]}


def under_spark_submit() -> bool:
    """True when this Python driver was launched by spark-submit (its JVM is already running)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


METASTORE_LOCK = "metastore_db.ctrflow-lock"
_held_metastore_locks: dict[str, int] = {}  # state dir -> fd of the flocked lock file, kept open until exit


def lock_metastore(state: str) -> None:
    """Take, for the life of this process, the lock on the embedded Derby metastore under `state`; raise a
    one-line CtrflowError when another live process holds it. Idempotent within a process."""
    import fcntl

    state = os.path.abspath(state)
    if state in _held_metastore_locks:
        return
    os.makedirs(state, exist_ok=True)
    path = os.path.join(state, METASTORE_LOCK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise CtrflowError(
            f"another ctrflow job holds the metastore at {os.path.join(state, 'metastore_db')}; "
            f"use the Postgres metastore for concurrency" + (f" (holder: pid {holder})" if holder.isdigit() else "")
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _held_metastore_locks[state] = fd


def check_state_dir(state: str) -> None:
    """Create the local state directory if needed and prove it writable, or raise a one-line ConfigError
    (a file in its place, a read-only or missing parent) before the JVM starts and fails less clearly."""
    import tempfile

    if os.path.exists(state) and not os.path.isdir(state):
        raise ConfigError(f"project.state_dir {state}: is a file, not a directory")
    try:
        os.makedirs(state, exist_ok=True)
        with tempfile.TemporaryFile(dir=state):
            pass
    except OSError as e:
        raise ConfigError(f"project.state_dir {state}: not a writable directory ({e.strerror or e})") from None


def get_session(settings: Settings, profile_name: str | None = None, app: str | None = None):
    """Create (or return the running) SparkSession for a profile (`app`: the application's name)."""
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    conf = {**session_conf(settings, profile_name), **metastore_password(settings, profile_name)}
    if app:
        conf["spark.app.name"] = app
    # Under spark-submit, what it was given (--master, --conf) wins over the profile.
    submitted = SparkConf() if under_spark_submit() else None
    builder = SparkSession.builder
    for k, v in conf.items():
        if submitted is None or not submitted.contains(k):
            builder = builder.config(k, v)
    if conf.get("spark.pyspark.python") and submitted is None:
        # PySpark takes the workers' interpreter from the environment, not from the conf
        os.environ.setdefault("PYSPARK_PYTHON", conf["spark.pyspark.python"])
    state = settings.project.path()
    if "://" not in state:
        check_state_dir(state)
        if settings.spark.profiles[profile_name or settings.spark.profile].metastore == "embedded_derby":
            lock_metastore(state)  # before the JVM: Derby would fail later and less clearly
    if conf.get("spark.sql.catalogImplementation") == "hive":
        builder = builder.enableHiveSupport()
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark.log_level)
    if conf.get("spark.sql.catalogImplementation") == "hive":
        _quiet_loggers(spark, QUIET_LOGGERS)
    task_error_logs(spark, audible=debug_from_env())
    return spark


# Loggers of the driver JVM silenced whatever spark.log_level says, with why:
QUIET_LOGGERS = {
    # Every Delta rewrite of a table in the embedded metastore logs "Failed to alter table ..." with a
    # stack trace at ERROR, and the job then succeeds: noise on every successful run. An external
    # metastore logs it on its own server, not here.
    "org.apache.hadoop.hive.metastore.HiveAlterHandler": "OFF",
    # ... and Spark's side of it: "Could not alter schema of table .. in a Hive compatible way" at WARN
    # with the metastore's whole InvalidOperationException (~145 lines); Spark then stores the schema
    # in its own format, which is what Delta tables use anyway. Its errors still show.
    "org.apache.spark.sql.hive.HiveExternalCatalog": "ERROR",
    # "Namespace raw was created concurrently. Ignoring." from CREATE DATABASE IF NOT EXISTS
    "org.apache.spark.sql.execution.datasources.v2.CreateNamespaceExec": "ERROR",
}


# The driver's copies of a failed task's stack trace (the executor's "Exception in task", the scheduler's
# "Lost task"): the job's one-line error already names the cause; --debug (CTRFLOW_DEBUG=1) brings them back.
TASK_ERROR_LOGGERS = {"org.apache.spark.executor.Executor": "OFF", "org.apache.spark.scheduler.TaskSetManager": "ERROR"}


def task_error_logs(spark, audible: bool) -> None:
    """Silence (or, for --debug, restore to WARN) the loggers that print failed tasks' stack traces."""
    _quiet_loggers(spark, {k: "WARN" if audible else v for k, v in TASK_ERROR_LOGGERS.items()})


def _quiet_loggers(spark, levels: dict[str, str]) -> None:
    jvm = spark.sparkContext._jvm
    for logger, level in levels.items():
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
            logger, jvm.org.apache.logging.log4j.Level.getLevel(level)
        )
