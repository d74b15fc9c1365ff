"""Layered YAML config: conf/base/<section>.yml, overlaid by conf/<env>/<section>.yml and --set.

Each file under conf/base is one section of `Settings` (spark.yml -> settings.spark). An overlay
file only overrides keys; `--set section.key.path=value` (value parsed as YAML) overrides last.
The merged tree is validated strictly (pipelines.common.schema): unknown, misspelt, missing or
mistyped keys are errors that name the file (or the --set) and the key path.

Named documents (conf/base/features/<name>.yml, conf/base/models/<name>.yml) are reached the same way:
`--set features.<name>.<key.path>=value`. `load` checks them at once against their own schema and keeps
them in `LoadedConfig.named`; the code that loads the document passes `named_overrides(kind, name)` on
to `load_named`. In a list of named entries (a pipeline's `stages`) the next key is an entry's name:
`--set features.ctr_default.stages.index_cats.params.min_count=10`.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib
import json
import os
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines.common import schema
from pipelines.core.errors import ConfigError
from pipelines.core.names import check_name
from pipelines.settings import Settings

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


class DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one mapping of a YAML file (PyYAML would keep the last one silently)."""


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key repeated in one mapping, naming the key path."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:  # the keys written in this mapping (a `<<` merge may be overridden)
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            continue  # construct_mapping reports it
        if key in seen:
            raise DuplicateKeyError(
                f"key '{key}' is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})"
            )
        seen[key] = key_node.start_mark.line
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str):
    """YAML as yaml.safe_load reads it, except that a duplicate key is an error (DuplicateKeyError)."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def _read_yaml(path: Path) -> dict:
    try:
        data = load_yaml(path.read_text()) or {}
    except DuplicateKeyError as e:
        raise ConfigError(f"{path}: {e}") from None
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


def _split_set(item: str) -> tuple[str, str]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
        raise ConfigError(f"--set {item!r}: expected key.path=value")
    return key.strip(), raw


def parse_set(items: Sequence[str]) -> list[tuple[str, Any]]:
    """Parse `key.path=value` overrides; values are YAML scalars/lists (`3`, `true`, `[a, b]`)."""
    out = []
    for item in items:
        key, raw = _split_set(item)
        try:
            value = load_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {item!r}: value is not valid YAML: {e}") from None
        out.append((key, value))
    return out


# Mappings whose keys contain dots themselves (Spark conf entries): the rest of a --set path is one key.
_FLAT_KEY_MAPS = ("conf",)


def _named_entry(items: list, name: str, shown: str, where: str) -> int | None:
    """Index of the entry called `name` in a list of named mappings (a pipeline's stages); None when
    the list is not one of named entries. An unknown name is an error listing the known ones."""
    if not items or not all(isinstance(e, dict) and "name" in e for e in items):
        return None
    names = [str(e["name"]) for e in items]
    if name in names:
        return names.index(name)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"names: {', '.join(names)}"
    raise ConfigError(f"--set {shown}: {where} has no entry named '{name}' ({hint})")


def _apply_set(tree: dict, key: str, value: Any, prov: _Provenance, shown: str | None = None) -> None:
    """Set `key` (a dotted path) in tree; `shown` is the key as the user wrote it (for messages)."""
    shown = shown or key
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        if part in _FLAT_KEY_MAPS:
            parts = [*parts[: i + 1], ".".join(parts[i + 1 :])]
            break
    node: Any = tree
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            at = _named_entry(node, part, shown, ".".join(parts[:i]))
            if at is None:
                raise ConfigError(f"--set {shown}: '{'.'.join(parts[:i])}' is a list, not a section")
            if last:
                node[at] = value
            node = node[at]
            continue
        if last:
            node[part] = value
            break
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict | list):
            raise ConfigError(f"--set {shown}: '{'.'.join(parts[: i + 1])}' is a value, not a section")
        node = nxt
    prov.record(key, value, f"--set {shown}")


def available_envs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in ("base", "jars"))


def _layer_files(root: Path, env: str, relpath: str) -> list[Path]:
    return [p for p in (root / "base" / relpath, root / env / relpath) if p.is_file()]


def check_env_name(env: str) -> str:
    """An overlay is named by a plain name (never a path, never `base` or `jars`); ConfigError otherwise."""
    try:
        check_name(env)
    except ValueError as e:
        raise ConfigError(f"--env {env!r}: an overlay is a directory name under conf/: {e}") from None
    if env in ("base", "jars"):
        raise ConfigError(f"--env {env}: conf/{env} is not an overlay (overlays: the other directories of conf/)")
    return env


def _check_env(root: Path, env: str) -> None:
    if not (root / "base").is_dir():
        raise ConfigError(f"config directory {root / 'base'} does not exist (set CTRFLOW_CONF?)")
    check_env_name(env)
    if not (root / env).is_dir():
        raise ConfigError(f"--env {env}: no directory {root / env} (known: {', '.join(available_envs(root))})")


# Named documents `--set <kind>.<name>.<key>` reaches: kind -> "module:function" that loads and validates
# one document with its overrides, called as fn(name, env=, root=, overrides=). Imported only when such
# a --set is given (a model's config pulls torch).
NAMED_KINDS = {
    "features": "pipelines.features.builder:load_spec",
    "models": "pipelines.ctr.models:load_config",
}


def check_named(kind: str, name: str, prefix: str = "") -> str:
    """The name of a named document (a pipeline, a model) is a plain name, never a path."""
    try:
        return check_name(name)
    except ValueError as e:
        raise ConfigError(f"{prefix}{kind} {e}") from None


def known_named(kind: str, root: Path | None = None) -> list[str]:
    """The names of the documents of a kind (conf/base/<kind>/*.yml), sorted."""
    base = (root or conf_root()) / "base" / kind
    return sorted(p.stem for p in base.glob("*.yml")) if base.is_dir() else []


def named_exists(kind: str, name: str, env: str = DEFAULT_ENV, root: Path | None = None) -> bool:
    """Whether conf/base/<kind>/<name>.yml (or the env's overlay of it) exists; `name` must be a name."""
    root = root or conf_root()
    return bool(_layer_files(root, env, f"{kind}/{check_named(kind, name)}.yml"))


@dataclass(frozen=True)
class LoadedConfig:
    """The validated settings plus where they came from (env, overrides) and a stable hash."""

    settings: Settings
    env: str
    overrides: tuple[str, ...] = ()
    plain: dict = field(default_factory=dict, compare=False, repr=False)
    # --set overrides of named documents: kind -> name -> ("key.path=value", ...) relative to the document
    named: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict, compare=False, repr=False)

    def named_overrides(self, kind: str, name: str) -> tuple[str, ...]:
        """The --set overrides of conf/<kind>/<name>.yml, as `key.path=value` inside that document."""
        return self.named.get(kind, {}).get(name, ())

    @property
    def config_hash(self) -> str:
        doc = {**self.plain, "_named_overrides": self.named} if self.named else self.plain
        blob = json.dumps(doc, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def _named_overrides(items: Sequence[str], root: Path, env: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """Group `<kind>.<name>.<key>=value` overrides by document, each checked against its schema now, so a
    typo fails every job at once and not only the one that reads the document."""
    named: dict[str, dict[str, list[str]]] = {}
    for item in items:
        key, raw = _split_set(item)
        parts = key.split(".", 2)
        if len(parts) < 3:
            raise ConfigError(
                f"--set {key}: expected {parts[0]}.<name>.<key>=value (a document of conf/base/{parts[0]}/)"
            )
        kind, name, rest = parts
        check_named(kind, name, f"--set {key}: ")
        if not _layer_files(root, env, f"{kind}/{name}.yml"):
            known = known_named(kind, root)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known) or 'none'}"
            raise ConfigError(f"--set {key}: no {kind} named '{name}' in {root / 'base' / kind} ({hint})")
        named.setdefault(kind, {}).setdefault(name, []).append(f"{rest}={raw}")
    for kind, docs in named.items():
        module, fn = NAMED_KINDS[kind].split(":")
        loader = getattr(importlib.import_module(module), fn)
        for name, sets in docs.items():
            loader(name, env=env, root=root, overrides=sets)
    return {kind: {name: tuple(sets) for name, sets in docs.items()} for kind, docs in named.items()}


def load(env: str = DEFAULT_ENV, overrides: Sequence[str] = (), root: Path | None = None) -> LoadedConfig:
    """Load and validate every section of conf/base with the env overlay and --set overrides."""
    root = root or conf_root()
    _check_env(root, env)
    sections = Settings.section_names()
    prov = _Provenance()
    tree: dict[str, Any] = {}
    for layer in ("base", env):
        for f in sorted((root / layer).glob("*.yml")):
            if f.stem not in sections:
                raise ConfigError(f"{f}: unknown config section '{f.stem}' (known: {', '.join(sorted(sections))})")
            data = _read_yaml(f)
            prov.record(f.stem, data, str(f))
            _merge(tree.setdefault(f.stem, {}), data, prov, str(f), f.stem)
    section_sets = [o for o in overrides if _split_set(o)[0].split(".")[0] not in NAMED_KINDS]
    for key, value in parse_set(section_sets):
        if key.split(".")[0] not in sections:
            raise ConfigError(
                f"--set {key}: unknown config section '{key.split('.')[0]}' "
                f"(known: {', '.join(sorted(sections))}; named documents: "
                f"{', '.join(f'{k}.<name>' for k in NAMED_KINDS)})"
            )
        _apply_set(tree, key, value, prov)
    for name in sections:
        prov._origin.setdefault(name, str(root / "base" / f"{name}.yml"))
    settings = schema.build(Settings, tree, where=prov)
    named = _named_overrides([o for o in overrides if o not in section_sets], root, env)
    return LoadedConfig(
        settings=settings, env=env, overrides=tuple(overrides), plain=schema.to_plain(settings), named=named
    )


def load_named(
    kind: str, name: str, cls: type, env: str = DEFAULT_ENV, root: Path | None = None, overrides: Sequence[str] = ()
) -> Any:
    """Load one named document of a kind (conf/base/<kind>/<name>.yml + overlay), validated as `cls`.

    `overrides` are `key.path=value` inside the document (from `LoadedConfig.named_overrides`); errors
    name them as the user wrote them, `--set <kind>.<name>.<key.path>`."""
    root = root or conf_root()
    _check_env(root, env)
    check_named(kind, name)
    files = _layer_files(root, env, f"{kind}/{name}.yml")
    if not files:
        known = known_named(kind, root)
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
        _apply_set(tree, key, value, prov, shown=f"{kind}.{name}.{key}")
    return schema.build(cls, tree, where=lambda p: prov(p) if p else str(files[0]))
