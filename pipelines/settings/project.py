"""conf/base/project.yml: where state lives (warehouse, metastore, landing files, registry) and the Hive
database of each data layer."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.errors import ConfigError
from pipelines.core.names import Name, plain_path_parts

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
