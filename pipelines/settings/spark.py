"""conf/base/spark.yml: the named ways to run Spark (profiles) and the one in use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class MetastoreJdbc:
    """A Hive metastore database reached by JDBC from each driver (metastore: jdbc). The password is never in
    the config: it is read from the environment variable `password_env` when the session starts."""

    url: str  # jdbc:postgresql://host:port/db
    user: str
    password_env: str = "CTRFLOW_METASTORE_PASSWORD"
    driver: str = "org.postgresql.Driver"
    driver_jars: str = ".jars-cluster/jdbc/postgresql-*.jar"  # glob; relative = under the project root


@dataclass(frozen=True)
class SparkProfile:
    """One named way to run Spark: master, metastore and raw Spark conf entries."""

    master: str | None = None  # None: leave it to spark-submit --master / the cluster default
    # embedded_derby: one JVM at a time, under project.state_dir | jdbc: Spark's own Hive client on a shared
    # database (Postgres), jobs in parallel | external: a Hive metastore service (hive.metastore.uris in conf)
    metastore: Literal["embedded_derby", "jdbc", "external", "in_memory"] = "embedded_derby"
    metastore_jdbc: MetastoreJdbc | None = None  # metastore: jdbc only
    metastore_uris: str | None = None  # metastore: external only (thrift://host:9083)
    delta: bool = True
    jars: bool = True  # put the project's jars (conf/jars/pom.xml) on spark.jars
    # JVM flags added to ctrflow's own on the driver and the executors (e.g. `-XX:TieredStopAtLevel=1`,
    # C1 only: half the JVM's CPU for many short jobs on small days, slower hot loops on large ones)
    java_options: str = ""
    conf: dict[str, str | int | float | bool] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class SparkSettings:
    """conf/base/spark.yml: the profile to use and the named profiles."""

    profile: str
    profiles: dict[str, SparkProfile]
    app_name: str = "ctrflow"
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG"] = "WARN"

    def validate(self) -> None:
        for name, p in self.profiles.items():
            if (p.metastore == "jdbc") != (p.metastore_jdbc is not None):
                raise ValueError(f"profiles.{name}: metastore_jdbc is set exactly when metastore is jdbc")
            if (p.metastore == "external") != bool(p.metastore_uris):
                raise ValueError(f"profiles.{name}: metastore_uris is set exactly when metastore is external")
        if self.profile not in self.profiles:
            raise ValueError(
                f"profile '{self.profile}' is not one of the defined profiles ({', '.join(sorted(self.profiles))})"
            )

    @property
    def active(self) -> SparkProfile:
        return self.profiles[self.profile]
