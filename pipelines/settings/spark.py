"""conf/base/spark.yml: the named ways to run Spark (profiles) and the one in use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class SparkProfile:
    """One named way to run Spark: master, metastore and raw Spark conf entries."""

    master: str | None = None  # None: leave it to spark-submit --master / the cluster default
    metastore: Literal["embedded_derby", "external", "in_memory"] = "embedded_derby"
    delta: bool = True
    jars: bool = True  # put the project's jars (conf/jars/pom.xml) on spark.jars
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
        if self.profile not in self.profiles:
            raise ValueError(
                f"profile '{self.profile}' is not one of the defined profiles ({', '.join(sorted(self.profiles))})"
            )

    @property
    def active(self) -> SparkProfile:
        return self.profiles[self.profile]
