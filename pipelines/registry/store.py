"""Registry layout and operations, on any filesystem pyarrow.fs opens (local, s3://, hdfs://, gs://).

    <root>/<name>/v0001/meta.json      what, when, lineage, metrics
    <root>/<name>/v0001/manifest.json  size and sha256 of meta.json and of every file under artifacts/
    <root>/<name>/v0001/artifacts/...
    <root>/<name>/champion.json        the published version and the gate decision that promoted it
    <root>/<name>/decisions.jsonl      every gate decision, accepted or refused, with the day it was made for
    <root>/<name>/.lock                locked (flock) while a version number is taken or the champion moves

A version is written under a temporary name and renamed into place, so a killed registration leaves
no half version. Every file is replaced whole (pipelines.common.storage: a temporary file, then a
rename). On a local filesystem, taking a version number and publishing (gate, champion pointer,
decision log) happen under an exclusive lock on <name>/.lock: concurrent writers never share a number
or lose a decision. Other filesystems have no lock here: run one writer per model at a time there.

A version directory whose meta.json is missing or unreadable, or whose artifacts/ is gone, is damaged:
`versions` leaves it out, `damaged` lists it with what is wrong, and `get` of it (or of a champion that
is it) raises RegistryDamaged naming the model, the version and the problem. `check` also compares every
version's files with its manifest.

The champion of a day (`champion_as_of`) comes from the accepted decisions: the version published for the
greatest day on or before it (a day's later publish wins). A gate publish is made for the candidate's
eval_ds, so in the daily flow that is the published version with the greatest eval_ds on or before the
day, and for the newest day it is the current champion (the gate never publishes an older day's model).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import asdict, replace

from pyarrow import fs as pafs

from pipelines.common import storage
from pipelines.core.days import iso_day
from pipelines.core.errors import ConfigError, DataError
from pipelines.core.names import check_name
from pipelines.registry import gate, manifest
from pipelines.registry.records import (
    META_FIELDS,
    META_REQUIRED,
    Damage,
    GateDecision,
    ModelCheck,
    ModelVersion,
    RegistryDamaged,
    VersionCheck,
    code_version,
    json_problem,
    listing,
    now,
    plain,
    summary,
)
from pipelines.settings.registry import GateSettings, RegistrySettings

_VERSION = re.compile(r"^v(\d{4,})$")


class Registry:
    def __init__(self, root: str, gate: GateSettings | None = None):
        self.location = root.rstrip("/")  # the registry root as configured (path or URI)
        self.fs, self.root = storage.filesystem(self.location)
        self.root = self.root.rstrip("/")
        self.gate = gate or GateSettings()

    @classmethod
    def from_settings(cls, settings) -> Registry:
        reg: RegistrySettings = settings.registry
        from pipelines.settings import resolve_path

        root = resolve_path(reg.root) if reg.root else settings.project.path("models")
        return cls(root, reg.gate)

    # -- paths and files ------------------------------------------------------------------------
    def _p(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def _uri(self, path: str) -> str:
        """The location (path or URI, as configured) of a path on self.fs under the root."""
        return f"{self.location}{path[len(self.root) :]}"

    def _path(self, uri: str) -> str:
        """The path on self.fs of a location under the root (`_uri` back)."""
        return f"{self.root}{uri[len(self.location) :]}"

    def _exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def _read_text(self, path: str) -> str:
        with self.fs.open_input_stream(path) as f:
            return f.read().decode("utf-8", errors="replace")

    def _locked(self, name: str):
        """Exclusive lock of one model (version numbers, champion, decisions) across processes; local
        filesystems only (storage.lock on <name>/.lock)."""
        return storage.lock(self._uri(self._p(name, ".lock")))

    @staticmethod
    def _check_name(name: str) -> None:
        try:
            check_name(name)  # the one identifier rule: a model name becomes a path segment
        except ValueError as e:
            raise ConfigError(f"model name: {e}") from None

    # -- versions -------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Models with at least one version directory (healthy or damaged)."""
        if not self._exists(self.root):
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(self.root))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory and self._version_dirs(i.path))

    def _version_dirs(self, base: str) -> list[pafs.FileInfo]:
        infos = self.fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
        dirs = [i for i in infos if i.type == pafs.FileType.Directory and _VERSION.match(i.base_name)]
        return sorted(dirs, key=lambda i: int(i.base_name[1:]))

    def _scan(self, name: str) -> tuple[list[ModelVersion], list[Damage]]:
        """(healthy versions, damaged ones), oldest first."""
        self._check_name(name)
        healthy, damaged = [], []
        for info in self._version_dirs(self._p(name)):
            meta_info, art_info = self.fs.get_file_info([f"{info.path}/meta.json", f"{info.path}/artifacts"])
            try:
                mv = self._load_meta(name, info, meta_info)
            except ValueError as e:
                damaged.append(Damage(name, info.base_name, str(e)))
                continue
            if art_info.type != pafs.FileType.Directory:
                damaged.append(Damage(name, info.base_name, "artifacts/ is missing", mv))
            else:
                healthy.append(mv)
        return healthy, damaged

    def _load_meta(self, name: str, info: pafs.FileInfo, meta_info: pafs.FileInfo) -> ModelVersion:
        """The version's meta.json; ValueError saying what is wrong with it."""
        if meta_info.type != pafs.FileType.File:
            raise ValueError("meta.json is missing")
        text = self._read_text(meta_info.path)
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ValueError(json_problem("meta.json", text, e)) from None
        if not isinstance(data, dict):
            raise ValueError("meta.json is not a JSON object")
        missing, unknown = sorted(META_REQUIRED - set(data)), sorted(set(data) - META_FIELDS)
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(missing)}")
        if unknown:
            parts.append(f"has unknown fields {', '.join(unknown)}")
        if parts:
            raise ValueError(f"meta.json {' and '.join(parts)}")
        if (data["name"], data["version"]) != (name, info.base_name):
            raise ValueError(f"meta.json describes {data['name']} {data['version']}, not this directory")
        return ModelVersion(**{**data, "uri": self._uri(info.path)})

    def versions(self, name: str) -> list[ModelVersion]:
        """The healthy versions of `name`, oldest first (damaged ones: `damaged`)."""
        return self._scan(name)[0]

    def damaged(self, name: str) -> list[Damage]:
        """The version directories of `name` that cannot be used, with what is wrong with each."""
        return self._scan(name)[1]

    def get(self, name: str, version: str | None = None) -> ModelVersion:
        """A given version, or the champion when version is None. A damaged one raises RegistryDamaged."""
        self._check_name(name)
        healthy, damaged = self._scan(name)
        if not healthy and not damaged:
            raise DataError(
                f"no model named '{name}' in the registry at {self._uri(self.root)}"
                f" (models: {', '.join(self.names()) or 'none'})"
            )
        if version is None:
            champ = self.champion(name)
            if champ is None:
                raise DataError(
                    f"model '{name}' has no champion yet: publish a version or pass --version "
                    f"(versions: {listing(healthy, damaged)})"
                )
            return champ
        for v in healthy:
            if v.version == version:
                return v
        for d in damaged:
            if d.version == version:
                raise RegistryDamaged(str(d))
        raise DataError(f"model '{name}' has no version '{version}' (versions: {listing(healthy, damaged)})")

    def candidate(self, name: str, ds: str, version: str | None = None) -> ModelVersion:
        """`version`, or the newest version evaluated on ds (the day's training run registered it). A
        damaged version that may be the day's newer candidate (evaluated on ds, or its meta.json
        unreadable) is refused rather than skipped over."""
        if version is not None:
            return self.get(name, version)
        healthy, damaged = self._scan(name)
        on_day = [v for v in healthy if v.eval_ds == ds]
        newest = int(on_day[-1].version[1:]) if on_day else 0
        unsure = [d for d in damaged if int(d.version[1:]) > newest and (d.meta is None or d.meta.eval_ds == ds)]
        if unsure:
            newest_healthy = f" (the day's newest healthy version is {on_day[-1].version})" if on_day else ""
            raise RegistryDamaged(
                f"{unsure[-1]}; it may be the candidate evaluated on {ds}: repair or remove it, "
                f"or pass --version{newest_healthy}"
            )
        if not on_day:
            raise DataError(
                f"model '{name}' has no version evaluated on {ds} to publish "
                f"(versions: {', '.join(f'{v.version}@{v.eval_ds}' for v in healthy) or 'none'})"
            )
        return on_day[-1]

    def stage(self, name: str) -> str:
        """A fresh artifacts directory inside the registry for Spark (or anything) to write a model into;
        pass it to `register(..., staged=...)`. Until then it is invisible to readers."""
        self._check_name(name)
        tmp = self._p(name, f"_tmp-{uuid.uuid4().hex[:12]}")
        self.fs.create_dir(f"{tmp}/artifacts", recursive=True)
        return self._uri(f"{tmp}/artifacts")

    def register(
        self,
        name: str,
        artifacts_dir: str | None = None,
        *,
        kind: str,
        flavor: str,
        eval_ds: str | None,
        metrics: dict,
        config: dict | None = None,
        inputs: dict | None = None,
        extra: dict | None = None,
        staged: str | None = None,
    ) -> ModelVersion:
        """Register the next version of `name`: a local artifacts directory is copied in; a `staged`
        directory (from `stage`) is moved into place. Returns the new version."""
        self._check_name(name)
        base = self._p(name)
        self.fs.create_dir(base, recursive=True)
        if staged is not None:
            tmp = self._path(staged).rsplit("/artifacts", 1)[0]
            if not tmp.startswith(self._p(name, "_tmp-")) or not self._exists(tmp):
                raise DataError(f"cannot register '{name}': {staged} is not a directory from Registry.stage")
        elif artifacts_dir is None or not storage.is_dir(artifacts_dir):
            raise DataError(f"cannot register '{name}': artifacts directory {artifacts_dir} does not exist")
        else:
            tmp = self._p(name, f"_tmp-{uuid.uuid4().hex[:12]}")
            storage.copy_tree(artifacts_dir, self._uri(f"{tmp}/artifacts"))
        files = manifest.build(self.fs, tmp)  # before the lock: hashing a large model takes a while
        code = code_version()
        with self._locked(name):
            for _ in range(20):  # without a lock (not a local filesystem) another writer may take the number
                numbers = [int(i.base_name[1:]) for i in self._version_dirs(base)]
                version = f"v{max(numbers, default=0) + 1:04d}"
                mv = ModelVersion(
                    name=name,
                    version=version,
                    kind=kind,
                    flavor=flavor,
                    created_at=now(),
                    eval_ds=eval_ds,
                    metrics=plain(metrics),
                    config=plain(config or {}),
                    inputs=plain(inputs or {}),
                    code_version=code,
                    extra=plain(extra or {}),
                )
                meta = {k: v for k, v in asdict(mv).items() if k != "uri"}
                meta_bytes = json.dumps(meta, indent=2, sort_keys=True).encode()
                files["files"]["meta.json"] = manifest.digest(meta_bytes)
                storage.write_json(self._uri(f"{tmp}/{manifest.MANIFEST}"), files, indent=1, sort_keys=True)
                storage.write_bytes(self._uri(f"{tmp}/meta.json"), meta_bytes)
                final = self._p(name, version)
                if self._exists(final):
                    continue
                self.fs.move(tmp, final)
                return ModelVersion(**{**meta, "uri": self._uri(final)})
        raise DataError(f"could not allocate a version for '{name}' under {self._uri(base)}")

    # -- champion and gate ----------------------------------------------------------------------
    def _champion_version(self, name: str) -> str | None:
        """The version champion.json names (None when there is no champion.json)."""
        self._check_name(name)
        ptr = self._p(name, "champion.json")
        if not self._exists(ptr):
            return None
        text = self._read_text(ptr)
        try:
            version = json.loads(text).get("version")
        except ValueError as e:
            problem = json_problem("champion.json", text, e)
        except AttributeError:
            problem = "champion.json is not a JSON object"
        else:
            if isinstance(version, str) and _VERSION.match(version):
                return version
            problem = f"champion.json names no version (version: {version!r})"
        raise RegistryDamaged(f"model {name}: {problem}")

    def champion(self, name: str) -> ModelVersion | None:
        """The published version, None when there is none; RegistryDamaged when champion.json or the
        version it names is damaged or gone."""
        version = self._champion_version(name)
        if version is None:
            return None
        healthy, damaged = self._scan(name)
        for v in healthy:
            if v.version == version:
                return v
        for d in damaged:
            if d.version == version:
                raise RegistryDamaged(f"model {name}: the champion {version} is damaged: {d.problem}")
        raise RegistryDamaged(
            f"model {name}: champion.json names {version}, which is not in the registry "
            f"(versions: {listing(healthy, damaged)})"
        )

    def for_day(self, name: str, ds: dt.date | str, version: str | None = None) -> ModelVersion:
        """What a job for ds uses: `version` when given (a --version), else the champion as of ds."""
        return self.get(name, version) if version else self.champion_as_of(name, ds)

    def champion_as_of(self, name: str, ds: dt.date | str, *, missing_ok: bool = False) -> ModelVersion | None:
        """The version that was champion on ds: of the published ones (accepted decisions, and
        champion.json), the one published for the greatest day on or before ds; of a day's publishes,
        the later. A decision logged before decisions recorded their day counts for its candidate's
        eval_ds. None (missing_ok) or a DataError naming the model, the day and the publishes when there
        is none (or no such model); RegistryDamaged when that version is damaged."""
        day = iso_day(ds)
        self._check_name(name)
        healthy, damaged = self._scan(name)
        if not healthy and not damaged and not missing_ok:
            self.get(name)  # no such model: its error
        eval_days = {v.version: v.eval_ds for v in healthy}
        eval_days.update({d.version: d.meta.eval_ds for d in damaged if d.meta is not None})
        published = []  # (day, order, version)
        for n, d in enumerate(self._published(name)):
            when = d.get("ds") or eval_days.get(d.get("candidate"))
            if when:
                published.append((when, n, d["candidate"]))
        on_or_before = [p for p in published if p[0] <= day]
        if on_or_before:
            return self.get(name, max(on_or_before)[2])
        if missing_ok:
            return None
        raise DataError(
            f"model '{name}' had no champion on {day}: no version was published for {day} or before "
            f"(publishes: {', '.join(f'{v} for {w}' for w, _, v in published) or 'none'}); pass --version"
        )

    def _published(self, name: str) -> list[dict]:
        """The accepted decisions, oldest first; the champion's own (champion.json) last when the log
        lacks it (a publish killed between the pointer and the log line)."""
        accepted = [d for d in self.decisions(name) if d.get("accepted") and isinstance(d.get("candidate"), str)]
        version = self._champion_version(name)
        if version is not None and (not accepted or accepted[-1]["candidate"] != version):
            pointer = json.loads(self._read_text(self._p(name, "champion.json")))
            decision = pointer.get("decision") if isinstance(pointer.get("decision"), dict) else {}
            accepted.append({**decision, "candidate": version})
        return accepted

    def decisions(self, name: str) -> list[dict]:
        path = self._p(name, "decisions.jsonl")
        if not self._exists(path):
            return []
        out = []
        for n, line in enumerate(self._read_text(path).splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise RegistryDamaged(f"model {name}: decisions.jsonl line {n} is not valid JSON ({e})") from None
        return out

    def _append_decision(self, name: str, decision: GateDecision) -> None:
        """Add one line to the decision log; the caller holds the model's lock, so no line is lost."""
        path = self._p(name, "decisions.jsonl")
        text = self._read_text(path) if self._exists(path) else ""
        if text and not text.endswith("\n"):  # a torn last line stays apart from the new one
            text += "\n"
        storage.write_text(self._uri(path), text + json.dumps(asdict(decision)) + "\n")

    # -- integrity ------------------------------------------------------------------------------
    def _dir(self, mv: ModelVersion) -> str:
        return self._path(mv.uri)

    def _manifest(self, mv: ModelVersion) -> dict | None:
        """The version's manifest {path: {size, sha256}}; None for a version registered before manifests
        existed; ValueError when it is unreadable."""
        path = f"{self._dir(mv)}/{manifest.MANIFEST}"
        return manifest.parse(self._read_text(path)) if self._exists(path) else None

    def _manifest_problems(self, mv: ModelVersion, hashes: bool = True) -> list[str] | None:
        """How the version's files differ from its manifest ([] when they match); None without one."""
        try:
            files = self._manifest(mv)
        except ValueError as e:
            return [str(e)]
        return None if files is None else manifest.verify(self.fs, self._dir(mv), files, hashes)

    def verify(self, mv: ModelVersion, hashes: bool = True) -> None:
        """RegistryDamaged when the version's files differ from its manifest (size, and sha256 when
        hashes); a version without a manifest passes."""
        problems = self._manifest_problems(mv, hashes)
        if problems:
            raise RegistryDamaged(f"model {mv.name} {mv.version}: {summary(problems)}")

    def check(self, names: list[str] | None = None) -> list[ModelCheck]:
        """Every version of every model (or of `names`) against its manifest, and each model's champion
        pointer and decision log."""
        out = []
        for name in names if names is not None else self.names():
            healthy, damaged = self._scan(name)
            by_number = {d.version: VersionCheck(d.version, "damaged", (d.problem,)) for d in damaged}
            for mv in healthy:
                try:
                    files = self._manifest(mv)
                except ValueError as e:
                    by_number[mv.version] = VersionCheck(mv.version, "damaged", (str(e),))
                    continue
                if files is None:
                    by_number[mv.version] = VersionCheck(mv.version, "no manifest")
                    continue
                problems = manifest.verify(self.fs, self._dir(mv), files)
                by_number[mv.version] = VersionCheck(
                    mv.version, "damaged" if problems else "ok", tuple(problems), len(files)
                )
            model_problems = []
            for probe in (self.champion, self.decisions):
                try:
                    probe(name)
                except RegistryDamaged as e:
                    model_problems.append(str(e).removeprefix(f"model {name}: "))
            versions = tuple(by_number[v] for v in sorted(by_number, key=lambda v: int(v[1:])))
            out.append(ModelCheck(name, versions, tuple(model_problems)))
        return out

    def evaluate_gate(
        self, name: str, version: str, metric: str | None = None, min_delta: float | None = None
    ) -> GateDecision:
        """Would `version` replace the champion? Compares on the same evaluation day only (gate.judge)."""
        metric = gate.check_metric(metric or self.gate.metric)
        return gate.judge(self.gate, self.get(name, version), self.champion(name), metric, min_delta)

    def publish(
        self,
        name: str,
        version: str,
        metric: str | None = None,
        min_delta: float | None = None,
        force: bool = False,
        ds: dt.date | str | None = None,
    ) -> GateDecision:
        """Promote `version` to champion when the gate accepts it (or when forced); log the decision, made
        for `ds` (default: the candidate's eval_ds; a forced rollback to an older version passes the day
        from which it is the champion).

        A damaged candidate (meta.json, artifacts or files that differ from its manifest) is refused with
        RegistryDamaged, forced or not. A damaged champion stops the gate (RegistryDamaged); forcing
        replaces it, which is how a broken champion pointer is repaired."""
        cand = self.get(name, version)
        problems = self._manifest_problems(cand)
        if problems:
            raise RegistryDamaged(f"model {name} {version} is damaged, it cannot be published: {summary(problems)}")
        with self._locked(name):
            try:
                decision = self.evaluate_gate(name, version, metric, min_delta)
            except RegistryDamaged as e:
                if not force:
                    raise RegistryDamaged(f"{e} (publish --force points the champion at {version})") from None
                metric = metric or self.gate.metric
                decision = GateDecision(
                    name=name,
                    candidate=version,
                    champion=None,
                    accepted=True,
                    reason=f"forced over a damaged champion: {e}",
                    metric=metric,
                    candidate_value=cand.metrics.get(metric),
                    decided_at=now(),
                    ds=cand.eval_ds,
                )
            if force and not decision.accepted:
                decision = GateDecision(
                    **{
                        **asdict(decision),
                        "accepted": True,
                        "reason": f"forced over the gate's refusal: {decision.reason}",
                    }
                )
            if ds is not None:
                decision = replace(decision, ds=iso_day(ds))
            if decision.accepted:
                storage.write_text(
                    self._uri(self._p(name, "champion.json")),
                    json.dumps({"version": version, "decision": asdict(decision)}, indent=2),
                )
            self._append_decision(name, decision)
        return decision
