"""Pipeline YAML -> validated plan -> pyspark.ml Pipeline.

`validate` checks the whole pipeline against the source table's schema before any data is read:
stage types exist, params are known and well typed, every input column exists (in the source or as
an output of an earlier stage) with a type the stage accepts, output names are unique. Every problem
is reported in one ConfigError, each with its stage name and key.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.common import config, schema
from pipelines.core.errors import ConfigError
from pipelines.core.names import Name, check_name
from pipelines.features.stage_types import (
    CATEGORICAL_KIND,
    NUMERIC,
    RAW_KIND,
    OutputColumn,
    StageSpec,
    expand,
    stages,
    type_group,
)


@dataclass(frozen=True)
class StageEntry:
    """One stage of a pipeline file: a unique name, a registered type and its params."""

    name: Name
    type: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineSpec:
    """conf/base/features/<name>.yml."""

    source: Name  # stg.<source> is read
    stages: list[StageEntry]
    label: Name = "label"  # the source's 0/1 column; feat and out.scores keep its name
    train_days: int = 1  # days ending at --ds that a --fit run fits on
    features: list[str] | None = None  # the feat columns; default: stage outputs no later stage reads
    # raw source columns copied unchanged into feat (ids to join predictions back): never features
    keep: list[Name] = field(default_factory=list)
    drift_threshold: float = 0.2  # PSI above which a feature is reported as moved
    description: str = ""

    def validate(self) -> None:
        if self.train_days < 1:
            raise ValueError(f"train_days must be at least 1, got {self.train_days}")
        if not self.stages:
            raise ValueError("stages: a pipeline needs at least one stage")
        if len(set(self.keep)) != len(self.keep):
            raise ValueError(f"keep: a column is listed twice ({', '.join(self.keep)})")

    @property
    def config_hash(self) -> str:
        plain = schema.to_plain(self)
        if not self.keep:  # versions fitted before `keep` existed keep their hash
            plain.pop("keep")
        blob = json.dumps(plain, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def load_spec(name: str, env: str = config.DEFAULT_ENV, root=None, overrides: Sequence[str] = ()) -> PipelineSpec:
    """conf/<env>/features/<name>.yml with `--set features.<name>.*` overrides (`key.path=value` inside the
    document), checked as far as possible without the source table: keys and types, and, when an
    override touches `stages`, each stage's type and param names and values. Column checks need the
    source's schema: `validate`."""
    spec = config.load_named("features", name, PipelineSpec, env=env, root=root, overrides=overrides)
    if any(key.split(".")[0] == "stages" for key, _ in config.parse_set(overrides)):
        problems: list[str] = []
        for entry in spec.stages:
            _parse_stage(entry, problems)
        if problems:
            raise ConfigError(f"--set features.{name}.stages: {'; '.join(problems)}")
    return spec


@dataclass(frozen=True)
class PlannedColumn:
    column: OutputColumn
    stage: str  # name of the stage that writes it
    stage_type: str
    inputs: tuple[str, ...]
    reserved: dict[str, int]


@dataclass(frozen=True)
class Plan:
    """A validated pipeline: the stage specs in order and what each output column is."""

    name: str
    spec: PipelineSpec
    stages: list[tuple[StageEntry, StageSpec]]
    columns: dict[str, PlannedColumn]  # every column a stage writes
    features: list[str]
    source_columns: list[str]

    def build(self):
        from pyspark.ml import Pipeline

        return Pipeline(stages=[s.build(self.spec.label) for _, s in self.stages])


def _schema_types(source_schema) -> dict[str, str]:
    if isinstance(source_schema, dict):
        return dict(source_schema)
    return {f.name: f.dataType.simpleString() for f in source_schema.fields}


def _expand_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: expand(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else v for k, v in params.items()
    }


def _parse_stage(entry: StageEntry, problems: list[str]) -> StageSpec | None:
    where = f"stage '{entry.name}'"
    registry = stages()
    cls = registry.get(entry.type)
    if cls is None:
        close = difflib.get_close_matches(entry.type, list(registry), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(registry))}"
        problems.append(f"{where}: type: unknown stage type '{entry.type}' ({hint})")
        return None
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in entry.params if k not in known]
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(known))}"
        problems.append(f"{where}: params.{key}: unknown param of stage type '{entry.type}' ({hint})")
    if unknown:
        return None
    try:
        return schema.build(cls, _expand_params(entry.params), where=lambda p: where, path="params")
    except ConfigError as e:
        problems.append(str(e))
        return None


def validate(spec: PipelineSpec, source_schema, name: str = "pipeline") -> Plan:
    """Check a pipeline against the source schema (StructType or {column: simpleString}); all problems at once."""
    types = _schema_types(source_schema)
    problems: list[str] = []
    if spec.label not in types:
        problems.append(f"label: column '{spec.label}' is not in the source table")
    elif types[spec.label] not in NUMERIC:
        problems.append(f"label: column '{spec.label}' is {types[spec.label]}, expected a numeric 0/1 column")
    for col in spec.keep:
        if col not in types:
            close = difflib.get_close_matches(col, list(types), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"keep: column '{col}' is not in the source table{hint}")
        elif col in (spec.label, "ds"):
            problems.append(
                f"keep: column '{col}' is the {'label' if col == spec.label else 'partition column'}"
                f", which feat has anyway"
            )
    writer: dict[str, str] = {}  # column -> the stage that wrote it
    columns: dict[str, PlannedColumn] = {}
    planned: list[tuple[StageEntry, StageSpec]] = []
    read_later: set[str] = set()
    seen_names: set[str] = set()
    unchecked: list[str] = []  # stages whose params are invalid: their outputs are unknown
    for entry in spec.stages:
        where = f"stage '{entry.name}'"
        if entry.name in seen_names:
            problems.append(f"{where}: name: two stages are named '{entry.name}'")
        seen_names.add(entry.name)
        stage = _parse_stage(entry, problems)
        if stage is None:
            unchecked.append(entry.name)
            continue
        for col in stage.input_columns():
            read_later.add(col)
            if col not in types:
                close = difflib.get_close_matches(col, list(types), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                if unchecked:
                    hint += f" (or written by stage {', '.join(map(repr, unchecked))}, which has errors)"
                problems.append(
                    f"{where}: params.inputs: column '{col}' does not exist in the source or before this stage{hint}"
                )
            elif type_group(types[col]) not in stage.accepts:
                problems.append(
                    f"{where}: params.inputs: column '{col}' is {types[col]}; stage type "
                    f"'{entry.type}' accepts {' or '.join(sorted(stage.accepts))} columns"
                )
        outs = stage.output_columns({c: types.get(c, "") for c in stage.input_columns()})
        for out in outs:
            try:
                check_name(out.name)
            except ValueError as e:
                problems.append(f"{where}: output: {e}")
                continue
            if out.name in types:
                by = f"stage '{writer[out.name]}'" if out.name in writer else "the source table"
                problems.append(f"{where}: output '{out.name}' already exists (written by {by})")
                continue
            types[out.name] = out.dtype
            writer[out.name] = entry.name
            columns[out.name] = PlannedColumn(
                out, entry.name, entry.type, tuple(stage.input_columns()), stage.reserved_indices()
            )
        planned.append((entry, stage))
    if spec.features is not None:
        features = expand(list(spec.features))
        for f in features:
            if f not in types:
                problems.append(f"features: column '{f}' is written by no stage and is not in the source")
            elif f not in columns:
                problems.append(f"features: column '{f}' is a raw source column: pass it through a stage")
    else:
        features = [c for c in columns if c not in read_later]
    for f in features:
        if f in columns and columns[f].column.kind == RAW_KIND:
            problems.append(
                f"features: column '{f}' (stage '{columns[f].stage}') is an intermediate "
                f"{columns[f].column.dtype} column, not a feature: index or hash it"
            )
    if len(set(features)) != len(features):
        problems.append("features: a column is listed twice")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"features pipeline '{name}' on source '{spec.source}': {len(problems)} problem(s):\n{lines}")
    return Plan(name, spec, planned, columns, features, list(_schema_types(source_schema)))


def categorical(plan: Plan) -> list[str]:
    return [f for f in plan.features if plan.columns[f].column.kind == CATEGORICAL_KIND]
