"""What the registry stores and answers with: a model version's record (meta.json), the damage found in a
version, integrity check results, gate decisions; and the small helpers their texts share."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.errors import DataError


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    kind: str  # what trained it, e.g. gbdt_lr, lr, gbdt, deepfm, faiss_index
    flavor: str  # how to load it: spark_pipeline | torch | faiss
    created_at: str
    eval_ds: str | None  # the day the metrics were measured on
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)  # table -> Delta version read
    code_version: str = ""
    extra: dict = field(default_factory=dict)
    uri: str = ""  # the version directory; artifacts are under <uri>/artifacts

    @property
    def artifacts(self) -> str:
        return f"{self.uri}/artifacts"

    def feature_table(self) -> str:
        """The one table (db.table) the version was trained on, from its lineage (inputs)."""
        tables_read = [t for t in self.inputs if "." in t]
        if len(tables_read) != 1:
            raise DataError(
                f"model {self.name} {self.version} does not name one input table (inputs: {self.inputs}); pass --table"
            )
        return tables_read[0]


class RegistryDamaged(DataError):
    """A registry file that is missing, empty, truncated or changed. A retry cannot repair it: exit 2,
    which Airflow does not retry (like a config error)."""

    exit_code = 2


@dataclass(frozen=True)
class Damage:
    """A version directory that cannot be used, and why."""

    name: str
    version: str
    problem: str
    meta: ModelVersion | None = None  # what meta.json says, when it is readable

    def __str__(self) -> str:
        return f"model {self.name} {self.version}: {self.problem}"


@dataclass(frozen=True)
class VersionCheck:
    version: str
    status: str  # ok | no manifest | damaged
    problems: tuple[str, ...] = ()
    files: int = 0  # files the manifest lists


@dataclass(frozen=True)
class ModelCheck:
    name: str
    versions: tuple[VersionCheck, ...]
    problems: tuple[str, ...] = ()  # of the model's own files: champion.json, decisions.jsonl

    @property
    def damaged(self) -> bool:
        return bool(self.problems) or any(v.status == "damaged" for v in self.versions)


META_FIELDS = {f.name for f in dataclasses.fields(ModelVersion)} - {"uri"}
META_REQUIRED = {
    f.name
    for f in dataclasses.fields(ModelVersion)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
}


def json_problem(file: str, text: str, e: ValueError) -> str:
    return f"{file} is empty" if not text.strip() else f"{file} is not valid JSON, truncated? ({e})"


@dataclass(frozen=True)
class GateDecision:
    name: str
    candidate: str
    champion: str | None
    accepted: bool
    reason: str
    metric: str
    candidate_value: float | None = None
    champion_value: float | None = None
    decided_at: str = ""
    ds: str | None = None  # the day it was made for: a publish makes the candidate the champion from that day


def code_version() -> str:
    """The git commit of the code that is running (with -dirty when the tree has changes), or ''."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("CTRFLOW_CODE_VERSION", "")
    return f"{sha}-dirty" if sha and dirty else sha or os.environ.get("CTRFLOW_CODE_VERSION", "")


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def listing(healthy: list[ModelVersion], damaged: list[Damage]) -> str:
    """'v0001, v0002 (damaged), v0003' in version order."""
    marked = [(v.version, v.version) for v in healthy] + [(d.version, f"{d.version} (damaged)") for d in damaged]
    return ", ".join(text for _, text in sorted(marked, key=lambda m: int(m[0][1:]))) or "none"


def summary(problems: list[str], shown: int = 3) -> str:
    """The first problems, and how many more: one line however many files differ."""
    more = f"; and {len(problems) - shown} more (ctrflow models --check lists them)" if len(problems) > shown else ""
    return "; ".join(problems[:shown]) + more


def plain(obj):
    """JSON-safe copy (numpy scalars, dates and dataclasses become plain values)."""
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
