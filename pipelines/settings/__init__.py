"""The typed config tree: one module per conf/base/<section>.yml, and `Settings`, the whole tree.

A leaf package: it imports nothing of ctrflow but pipelines.common's names, errors and layout, so every
layer (the CLI, DAG files, jobs, the library) can load it cheaply. A new section is a module here with its
dataclass, a field on `Settings` and a conf/base/<name>.yml file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pipelines.settings.ann import AnnSettings
from pipelines.settings.ctr import CtrSettings
from pipelines.settings.dags import DagsSettings
from pipelines.settings.gbdt import GbdtSettings
from pipelines.settings.project import Databases, ProjectSettings, resolve_path
from pipelines.settings.recs import RecsSettings
from pipelines.settings.registry import RegistrySettings
from pipelines.settings.sources import SourcesSettings
from pipelines.settings.spark import SparkProfile, SparkSettings
from pipelines.settings.synth import SynthSettings

__all__ = ["Databases", "ProjectSettings", "Settings", "SparkProfile", "SparkSettings", "resolve_path"]


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
    recs: RecsSettings = field(default_factory=RecsSettings)
    dags: DagsSettings = field(default_factory=DagsSettings)

    @classmethod
    def section_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]
