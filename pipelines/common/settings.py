"""The typed config tree: one dataclass per conf/base/<section>.yml.

A new section is a dataclass here (or in its subsystem, imported here) plus a field on Settings and a
conf/base/<name>.yml file. Keep this module free of heavy imports: the CLI and DAG files load it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipelines.ann.settings import AnnSettings
from pipelines.common.dags_settings import DagsSettings
from pipelines.common.errors import ConfigError
from pipelines.common.names import Name, plain_path_parts
from pipelines.ctr.settings import CtrSettings
from pipelines.gbdt.settings import GbdtSettings
from pipelines.ingest.settings import SourcesSettings
from pipelines.registry.settings import RegistrySettings
from pipelines.synth.settings import SynthSettings

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def resolve_path(path: str) -> str:
    """A Hadoop URI or absolute path as is; a relative path is relative to the project root."""
    if _URI.match(path) or os.path.isabs(path):
        return path
    return str(_PROJECT_ROOT / path)


@dataclass(frozen=True)
class Databases:
    """Hive database names of the data layers (created on demand)."""

    raw: Name = "raw"
    stg: Name = "stg"
    feat: Name = "feat"
    out: Name = "out"


@dataclass(frozen=True)
class ProjectSettings:
    """Where state lives: warehouse, metastore, landing files, registry (git-ignored by default)."""

    state_dir: str = ".state"
    jars_dir: str = ".jars"
    databases: Databases = field(default_factory=Databases)

    def path(self, *parts: str) -> str:
        """A location under the state directory (local path or Hadoop URI); `parts` may hold `/` but no
        `..` segment and no leading `/`, so the result never leaves state_dir (ValueError otherwise)."""
        for part in parts:
            try:
                plain_path_parts(part)
            except ValueError as e:
                raise ConfigError(f"a location under project.state_dir: {e}") from None
        return "/".join([resolve_path(self.state_dir).rstrip("/"), *parts])

    @property
    def jars_path(self) -> str:
        return resolve_path(self.jars_dir)


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
            raise ValueError(f"profile '{self.profile}' is not one of the defined profiles "
                             f"({', '.join(sorted(self.profiles))})")

    @property
    def active(self) -> SparkProfile:
        return self.profiles[self.profile]


@dataclass(frozen=True)
class Settings:
    """The whole validated config. Field name = conf/base/<field>.yml."""

    project: ProjectSettings
    spark: SparkSettings
    synth: SynthSettings
    sources: SourcesSettings
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    gbdt: GbdtSettings = field(default_factory=GbdtSettings)
    ctr: CtrSettings = field(default_factory=CtrSettings)
    ann: AnnSettings = field(default_factory=AnnSettings)
    dags: DagsSettings = field(default_factory=DagsSettings)

    @classmethod
    def section_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]
