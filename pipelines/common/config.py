"""Layered YAML config: conf/base/<section>.yml, overlaid by conf/<env>/<section>.yml and --set.

Each file under conf/base is one section of `Settings` (spark.yml -> settings.spark). An overlay
file only overrides keys; `--set section.key.path=value` (value parsed as YAML) overrides last.
The merged tree is validated strictly (pipelines.common.schema): unknown, misspelt, missing or
mistyped keys are errors that name the file (or the --set) and the key path.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines.common import schema
from pipelines.common.errors import ConfigError
from pipelines.common.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ENV = "local"


def conf_root() -> Path:
    """The conf/ directory: $CTRFLOW_CONF if set (an installed wheel on a cluster), else the checkout's."""
    return Path(os.environ.get("CTRFLOW_CONF", PROJECT_ROOT / "conf"))


class _Provenance:
    """Remembers which file (or --set) each key path came from, for error messages."""

    def __init__(self) -> None:
        self._origin: dict[str, str] = {}

    def record(self, path: str, value: Any, origin: str) -> None:
        self._origin[path] = origin
        if isinstance(value, Mapping):
            for k, v in value.items():
                self.record(f"{path}.{k}", v, origin)

    def __call__(self, path: str) -> str:
        probe = path
        while probe:
            if probe in self._origin:
                return self._origin[probe]
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        return "config"


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def _merge(base: dict, over: Mapping, prov: _Provenance, origin: str, path: str) -> dict:
    for k, v in over.items():
        sub = f"{path}.{k}" if path else str(k)
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _merge(base[k], v, prov, origin, sub)
        else:
            base[k] = copy.deepcopy(v)
            prov.record(sub, v, origin)
    return base


def parse_set(items: Sequence[str]) -> list[tuple[str, Any]]:
    """Parse `key.path=value` overrides; values are YAML scalars/lists (`3`, `true`, `[a, b]`)."""
    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: expected key.path=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {item!r}: value is not valid YAML: {e}") from None
        out.append((key.strip(), value))
    return out


# Mappings whose keys contain dots themselves (Spark conf entries): the rest of a --set path is one key.
_FLAT_KEY_MAPS = ("conf",)


def _apply_set(tree: dict, key: str, value: Any, prov: _Provenance) -> None:
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        if part in _FLAT_KEY_MAPS:
            parts = [*parts[: i + 1], ".".join(parts[i + 1 :])]
            break
    node = tree
    for i, part in enumerate(parts[:-1]):
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {key}: '{'.'.join(parts[: i + 1])}' is a value, not a section")
        node = nxt
    node[parts[-1]] = value
    prov.record(key, value, f"--set {key}")


def available_envs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in ("base", "jars"))


def _layer_files(root: Path, env: str, relpath: str) -> list[Path]:
    return [p for p in (root / "base" / relpath, root / env / relpath) if p.is_file()]


def _check_env(root: Path, env: str) -> None:
    if not (root / "base").is_dir():
        raise ConfigError(f"config directory {root / 'base'} does not exist (set CTRFLOW_CONF?)")
    if env != "base" and not (root / env).is_dir():
        raise ConfigError(f"--env {env}: no directory {root / env} (known: {', '.join(available_envs(root))})")


@dataclass(frozen=True)
class LoadedConfig:
    """The validated settings plus where they came from (env, overrides) and a stable hash."""

    settings: Settings
    env: str
    overrides: tuple[str, ...] = ()
    plain: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def config_hash(self) -> str:
        blob = json.dumps(self.plain, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def load(env: str = DEFAULT_ENV, overrides: Sequence[str] = (), root: Path | None = None) -> LoadedConfig:
    """Load and validate every section of conf/base with the env overlay and --set overrides."""
    root = root or conf_root()
    _check_env(root, env)
    sections = Settings.section_names()
    prov = _Provenance()
    tree: dict[str, Any] = {}
    for layer in ("base", env) if env != "base" else ("base",):
        for f in sorted((root / layer).glob("*.yml")):
            if f.stem not in sections:
                raise ConfigError(f"{f}: unknown config section '{f.stem}' (known: {', '.join(sorted(sections))})")
            data = _read_yaml(f)
            prov.record(f.stem, data, str(f))
            _merge(tree.setdefault(f.stem, {}), data, prov, str(f), f.stem)
    for key, value in parse_set(overrides):
        if key.split(".")[0] not in sections:
            raise ConfigError(f"--set {key}: unknown config section '{key.split('.')[0]}' "
                              f"(known: {', '.join(sorted(sections))})")
        _apply_set(tree, key, value, prov)
    for name in sections:
        prov._origin.setdefault(name, str(root / "base" / f"{name}.yml"))
    settings = schema.build(Settings, tree, where=prov)
    return LoadedConfig(settings=settings, env=env, overrides=tuple(overrides), plain=schema.to_plain(settings))


def load_named(kind: str, name: str, cls: type, env: str = DEFAULT_ENV, root: Path | None = None,
               overrides: Sequence[str] = ()) -> Any:
    """Load one named document of a kind (conf/base/<kind>/<name>.yml + overlay), validated as `cls`."""
    root = root or conf_root()
    _check_env(root, env)
    files = _layer_files(root, env, f"{kind}/{name}.yml")
    if not files:
        known = sorted(p.stem for p in (root / "base" / kind).glob("*.yml")) if (root / "base" / kind).is_dir() else []
        raise ConfigError(f"no {kind} named '{name}' in {root / 'base' / kind} (known: {', '.join(known) or 'none'})")
    prov = _Provenance()
    tree: dict = {}
    for f in files:
        data = _read_yaml(f)
        prov.record("", data, str(f))
        for k, v in data.items():
            prov.record(str(k), v, str(f))
        _merge(tree, data, prov, str(f), "")
    for key, value in parse_set(overrides):
        _apply_set(tree, key, value, prov)
    return schema.build(cls, tree, where=lambda p: prov(p) if p else str(files[0]))
