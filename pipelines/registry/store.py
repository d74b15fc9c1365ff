"""Registry layout and operations, on any filesystem pyarrow.fs opens (local, s3://, hdfs://, gs://).

    <root>/<name>/v0001/meta.json      what, when, lineage, metrics (written last: a version without it
    <root>/<name>/v0001/artifacts/...  is incomplete and ignored)
    <root>/<name>/champion.json        the published version and the gate decision that promoted it
    <root>/<name>/decisions.jsonl      every gate decision, accepted or refused (append by rewrite)

A version is written under a temporary name and renamed into place, so a killed registration leaves
no half version. The champion pointer is replaced by writing a new file and renaming it over the old.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pyarrow import fs as pafs

from pipelines.common.errors import ConfigError, DataError
from pipelines.registry.settings import METRIC_DIRECTIONS, GateSettings, RegistrySettings

_VERSION = re.compile(r"^v(\d{4,})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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


def code_version() -> str:
    """The git commit of the code that is running (with -dirty when the tree has changes), or ''."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("CTRFLOW_CODE_VERSION", "")
    return f"{sha}-dirty" if sha and dirty else sha or os.environ.get("CTRFLOW_CODE_VERSION", "")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Registry:
    def __init__(self, root: str, gate: GateSettings | None = None):
        self.fs, self.root = pafs.FileSystem.from_uri(root) if "://" in root else (pafs.LocalFileSystem(), root)
        self.root = self.root.rstrip("/")
        self.scheme_prefix = root[: root.index("://") + 3] if "://" in root else ""
        self.gate = gate or GateSettings()

    @classmethod
    def from_settings(cls, settings) -> Registry:
        reg: RegistrySettings = settings.registry
        from pipelines.common.settings import resolve_path

        root = resolve_path(reg.root) if reg.root else settings.project.path("models")
        return cls(root, reg.gate)

    @property
    def location(self) -> str:
        """The registry root as configured (path or URI)."""
        return self._uri(self.root)

    # -- paths and files ------------------------------------------------------------------------
    def _p(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def _uri(self, path: str) -> str:
        return f"{self.scheme_prefix}{path}" if self.scheme_prefix else path

    def _exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def _read_json(self, path: str):
        with self.fs.open_input_stream(path) as f:
            return json.loads(f.read().decode())

    def _write_text(self, path: str, text: str) -> None:
        """Write then rename, so a reader never sees half a file."""
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with self.fs.open_output_stream(tmp) as f:
            f.write(text.encode())
        self.fs.move(tmp, path)

    @staticmethod
    def _check_name(name: str) -> None:
        if not _NAME.match(name or ""):
            raise ConfigError(f"model name '{name}' must be letters, digits, '_', '-' or '.'")

    # -- versions -------------------------------------------------------------------------------
    def names(self) -> list[str]:
        if not self._exists(self.root):
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(self.root))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory and self.versions(i.base_name))

    def versions(self, name: str) -> list[ModelVersion]:
        base = self._p(name)
        if not self._exists(base):
            return []
        out = []
        for info in self.fs.get_file_info(pafs.FileSelector(base)):
            if info.type == pafs.FileType.Directory and _VERSION.match(info.base_name):
                meta = f"{info.path}/meta.json"
                if self._exists(meta):
                    out.append(ModelVersion(**{**self._read_json(meta), "uri": self._uri(info.path)}))
        return sorted(out, key=lambda v: int(v.version[1:]))

    def get(self, name: str, version: str | None = None) -> ModelVersion:
        """A given version, or the champion when version is None."""
        self._check_name(name)
        versions = self.versions(name)
        if not versions:
            raise DataError(f"no model named '{name}' in the registry at {self._uri(self.root)}"
                            f" (models: {', '.join(self.names()) or 'none'})")
        if version is None:
            champ = self.champion(name)
            if champ is None:
                raise DataError(f"model '{name}' has no champion yet: publish a version or pass --version "
                                f"(versions: {', '.join(v.version for v in versions)})")
            return champ
        for v in versions:
            if v.version == version:
                return v
        known = ", ".join(v.version for v in versions)
        raise DataError(f"model '{name}' has no version '{version}' (versions: {known})")

    def stage(self, name: str) -> str:
        """A fresh artifacts directory inside the registry for Spark (or anything) to write a model into;
        pass it to `register(..., staged=...)`. Until then it is invisible to readers."""
        self._check_name(name)
        tmp = self._p(name, f"_tmp-{uuid.uuid4().hex[:12]}")
        self.fs.create_dir(f"{tmp}/artifacts", recursive=True)
        return self._uri(f"{tmp}/artifacts")

    def register(self, name: str, artifacts_dir: str | None = None, *, kind: str, flavor: str,
                 eval_ds: str | None, metrics: dict, config: dict | None = None, inputs: dict | None = None,
                 extra: dict | None = None, staged: str | None = None) -> ModelVersion:
        """Register the next version of `name`: a local artifacts directory is copied in; a `staged`
        directory (from `stage`) is moved into place. Returns the new version."""
        self._check_name(name)
        base = self._p(name)
        self.fs.create_dir(base, recursive=True)
        if staged is not None:
            tmp = staged[len(self.scheme_prefix):].rsplit("/artifacts", 1)[0]
            if not tmp.startswith(self._p(name, "_tmp-")) or not self._exists(tmp):
                raise DataError(f"cannot register '{name}': {staged} is not a directory from Registry.stage")
        elif artifacts_dir is None or not os.path.isdir(artifacts_dir):
            raise DataError(f"cannot register '{name}': artifacts directory {artifacts_dir} does not exist")
        else:
            tmp = self._p(name, f"_tmp-{uuid.uuid4().hex[:12]}")
            pafs.copy_files(artifacts_dir, f"{tmp}/artifacts", source_filesystem=pafs.LocalFileSystem(),
                            destination_filesystem=self.fs)
        for _ in range(20):  # another writer may take the same number: retry with the next one
            taken = [int(v.version[1:]) for v in self.versions(name)]
            existing = [int(m.group(1)) for i in self.fs.get_file_info(pafs.FileSelector(base))
                        if (m := _VERSION.match(i.base_name))]
            version = f"v{max(taken + existing, default=0) + 1:04d}"
            mv = ModelVersion(name=name, version=version, kind=kind, flavor=flavor, created_at=_now(),
                              eval_ds=eval_ds, metrics=_plain(metrics), config=_plain(config or {}),
                              inputs=_plain(inputs or {}), code_version=code_version(), extra=_plain(extra or {}))
            meta = {k: v for k, v in asdict(mv).items() if k != "uri"}
            with self.fs.open_output_stream(f"{tmp}/meta.json") as f:
                f.write(json.dumps(meta, indent=2, sort_keys=True).encode())
            final = self._p(name, version)
            if self._exists(final):
                continue
            self.fs.move(tmp, final)
            return ModelVersion(**{**meta, "uri": self._uri(final)})
        raise DataError(f"could not allocate a version for '{name}' under {self._uri(base)}")

    # -- champion and gate ----------------------------------------------------------------------
    def champion(self, name: str) -> ModelVersion | None:
        ptr = self._p(name, "champion.json")
        if not self._exists(ptr):
            return None
        return self.get(name, self._read_json(ptr)["version"])

    def decisions(self, name: str) -> list[dict]:
        path = self._p(name, "decisions.jsonl")
        if not self._exists(path):
            return []
        with self.fs.open_input_stream(path) as f:
            return [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]

    def evaluate_gate(self, name: str, version: str, metric: str | None = None,
                      min_delta: float | None = None) -> GateDecision:
        """Would `version` replace the champion? Compares on the same evaluation day only."""
        metric = metric or self.gate.metric
        min_delta = self.gate.min_delta if min_delta is None else min_delta
        if metric not in METRIC_DIRECTIONS:
            raise ConfigError(f"gate metric '{metric}' is not one of {', '.join(sorted(METRIC_DIRECTIONS))}")
        cand = self.get(name, version)
        champ = self.champion(name)

        def decide(accepted, reason, cv=None, hv=None):
            return GateDecision(name=name, candidate=cand.version, champion=champ.version if champ else None,
                                accepted=accepted, reason=reason, metric=metric, candidate_value=cv,
                                champion_value=hv, decided_at=_now())

        cv = cand.metrics.get(metric)
        if cv is None:
            return decide(False, f"candidate {cand.version} has no '{metric}' metric "
                                 f"(it has {', '.join(sorted(cand.metrics)) or 'none'})")
        failed = self.gate.guard_failures(cand.metrics)
        if failed:
            return decide(False, _guard_reason(name, cand, failed), cv)
        if champ is None:
            return decide(True, f"no champion yet: {cand.version} becomes the first ({metric}={cv:.6g})", cv)
        if champ.version == cand.version:
            return decide(False, f"{cand.version} is already the champion", cv, cv)
        # the champion's score on the candidate's evaluation day: measured by the training job
        # (extra.champion_eval) or, when both were evaluated on the same day, the champion's own metrics
        same_day = cand.extra.get("champion_eval") or {}
        if same_day.get("version") == champ.version and metric in same_day.get("metrics", {}):
            hv = same_day["metrics"][metric]
        elif champ.eval_ds == cand.eval_ds and metric in champ.metrics:
            hv = champ.metrics[metric]
        else:
            return decide(False, f"cannot compare: champion {champ.version} was evaluated on {champ.eval_ds} and "
                                 f"candidate {cand.version} on {cand.eval_ds}, and the candidate carries no "
                                 f"evaluation of the champion on that day", cv)
        higher = METRIC_DIRECTIONS[metric]
        gain = (cv - hv) if higher else (hv - cv)
        word = "higher" if higher else "lower"
        if gain > min_delta or (min_delta == 0 and gain > 0):
            return decide(True, f"{cand.version} beats champion {champ.version} on {metric} on {cand.eval_ds}: "
                                f"{cv:.6g} vs {hv:.6g} ({word} is better, margin {gain:.3g} > {min_delta:g})", cv, hv)
        return decide(False, f"{cand.version} does not beat champion {champ.version} on {metric} on "
                             f"{cand.eval_ds}: {cv:.6g} vs {hv:.6g} ({word} is better, needs a margin above "
                             f"{min_delta:g}, got {gain:.3g})", cv, hv)

    def publish(self, name: str, version: str, metric: str | None = None, min_delta: float | None = None,
                force: bool = False) -> GateDecision:
        """Promote `version` to champion when the gate accepts it (or when forced); log the decision."""
        decision = self.evaluate_gate(name, version, metric, min_delta)
        if force and not decision.accepted:
            decision = GateDecision(**{**asdict(decision), "accepted": True,
                                       "reason": f"forced over the gate's refusal: {decision.reason}"})
        if decision.accepted:
            self._write_text(self._p(name, "champion.json"),
                             json.dumps({"version": version, "decision": asdict(decision)}, indent=2))
        lines = [json.dumps(d) for d in self.decisions(name)] + [json.dumps(asdict(decision))]
        self._write_text(self._p(name, "decisions.jsonl"), "\n".join(lines) + "\n")
        return decision


def _guard_reason(name: str, cand: ModelVersion, failed: list) -> str:
    """Why the guards refuse a candidate: model, version, day, and each metric with its value and bound."""
    what = {"registry.gate.floors": "the floor on", "registry.gate.calibration_range": "the calibration range on"}
    parts = [f"{what.get(f.setting, 'the guard on')} {f.metric}: {f.value:.6g}, needs {f.bound} ({f.setting})"
             for f in failed]
    why = ""
    if any(f.setting == "registry.gate.floors" for f in failed):
        why = "; a constant prediction scores auc 0.5, ne 1"
    if any(f.metric == "calibration" for f in failed):
        why += "; calibration is mean prediction / observed CTR"
    return f"{name} {cand.version} (evaluated on {cand.eval_ds}) fails {'; and '.join(parts)}{why}"


def _plain(obj):
    """JSON-safe copy (numpy scalars, dates and dataclasses become plain values)."""
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
