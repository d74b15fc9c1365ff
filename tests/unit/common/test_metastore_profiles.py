"""The metastore kinds a Spark profile stands for: embedded Derby, a JDBC database (the loopback cluster's
Postgres) and a thrift service; the JDBC password comes from the environment at session start only."""

from __future__ import annotations

import pytest

from pipelines.common.config import load
from pipelines.common.spark import metastore_password, session_conf
from pipelines.core.errors import ConfigError

JDBC = [
    "spark.profiles.local.metastore=jdbc",
    "spark.profiles.local.metastore_jdbc.url=jdbc:postgresql://127.0.0.1:5433/metastore",
    "spark.profiles.local.metastore_jdbc.user=hive",
    "spark.profiles.local.metastore_jdbc.password_env=TEST_METASTORE_PW",
]


def test_jdbc_metastore_conf_has_no_password(tmp_path):
    jar = tmp_path / "postgresql-42.7.14.jar"
    jar.write_bytes(b"")
    s = load("local", [*JDBC, f"spark.profiles.local.metastore_jdbc.driver_jars={tmp_path}/postgresql-*.jar"]).settings
    conf = session_conf(s)
    assert conf["spark.hadoop.javax.jdo.option.ConnectionURL"] == "jdbc:postgresql://127.0.0.1:5433/metastore"
    assert conf["spark.hadoop.javax.jdo.option.ConnectionUserName"] == "hive"
    assert conf["spark.driver.extraClassPath"] == str(jar)
    assert not any("Password" in k for k in conf)  # spark-submit's command line never carries it


def test_jdbc_metastore_password_from_the_environment(monkeypatch):
    s = load("local", JDBC).settings
    monkeypatch.delenv("TEST_METASTORE_PW", raising=False)
    with pytest.raises(ConfigError, match=r"read from \$TEST_METASTORE_PW, which is not set"):
        metastore_password(s)
    monkeypatch.setenv("TEST_METASTORE_PW", "pw")
    assert metastore_password(s) == {"spark.hadoop.javax.jdo.option.ConnectionPassword": "pw"}
    assert metastore_password(load("local").settings) == {}  # Derby: nothing to read


def test_missing_jdbc_driver_jar_is_one_line(tmp_path):
    s = load("local", [*JDBC, f"spark.profiles.local.metastore_jdbc.driver_jars={tmp_path}/none-*.jar"]).settings
    with pytest.raises(ConfigError, match="no jar found; run `make setup`"):
        session_conf(s)


def test_metastore_settings_must_match_the_kind():
    with pytest.raises(ConfigError, match="metastore_jdbc is set exactly when metastore is jdbc"):
        load("local", ["spark.profiles.local.metastore=jdbc"])
    conf = session_conf(load("local").settings, "cluster")
    assert conf["spark.hadoop.hive.metastore.uris"] == "thrift://hive-metastore:9083"
    assert conf["spark.dynamicAllocation.enabled"] == "false"  # xgboost.spark's barrier stage refuses it


def test_java_options_join_ctrflows_own_flags_on_driver_and_executors(tmp_path):
    flags = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    s = load("local", [f"project.state_dir={tmp_path}", f"spark.profiles.local.java_options={flags}"]).settings
    conf = session_conf(s)
    assert conf["spark.executor.extraJavaOptions"] == f"-XX:-DontCompileHugeMethods {flags}"
    # the driver keeps Derby's home (embedded metastore) beside them
    assert (
        conf["spark.driver.extraJavaOptions"] == f"-XX:-DontCompileHugeMethods {flags} -Dderby.system.home={tmp_path}"
    )
    assert session_conf(load("local").settings)["spark.executor.extraJavaOptions"] == "-XX:-DontCompileHugeMethods"
