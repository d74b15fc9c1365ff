"""The stage registry: a YAML `type:` name -> a spec dataclass that knows its stage class.

A stage file in pipelines/features/stages/ defines its Transformer/Estimator and a spec dataclass
decorated with `@register("name")`; every module of that package not starting with `_` is imported on
first use (the plugin rule of pipelines/core/plugins.py), so adding a stage is one file. The spec's
fields are the YAML params (validated strictly by pipelines.common.schema); its methods tell the
builder which columns it reads and writes, with which types, before any data is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from pipelines.core.plugins import Plugins

# Spark simpleString types grouped the way stages accept them.
INTEGRAL = {"tinyint", "smallint", "int", "bigint"}
NUMERIC = INTEGRAL | {"float", "double"}
STRING = {"string"}

NUMERIC_KIND, CATEGORICAL_KIND, MULTI_VALUED_KIND, RAW_KIND = "numeric", "categorical", "multi_valued", "raw"


@dataclass(frozen=True)
class OutputColumn:
    """A column a stage produces: its Spark type and what a trainer should make of it."""

    name: str
    dtype: str  # Spark simpleString: int, double, string, array<int>
    kind: str  # numeric | categorical | multi_valued | raw (an intermediate, e.g. a cross key)


def type_group(dtype: str) -> str:
    if dtype in NUMERIC or dtype.startswith("decimal"):
        return "numeric"
    if dtype in STRING:
        return "string"
    if dtype.startswith("array<"):
        return "array"
    return dtype


class StageSpec:
    """Base of the YAML params of a stage type. Subclasses are frozen dataclasses."""

    type_name: ClassVar[str] = ""
    # Which groups of input types ("numeric", "string", "array") the stage accepts.
    accepts: ClassVar[frozenset[str]] = frozenset({"numeric"})

    def input_columns(self) -> list[str]:
        return list(getattr(self, "inputs", []))

    def output_columns(self, input_types: dict[str, str]) -> list[OutputColumn]:
        raise NotImplementedError

    def reserved_indices(self) -> dict[str, int]:
        """Indices with a fixed meaning in its categorical outputs ({"missing": 0, "unknown": 1})."""
        return {}

    def build(self, label: str):
        """The pyspark.ml stage (Transformer or Estimator) with these params."""
        raise NotImplementedError


def output_names(inputs: list[str], suffix: str) -> list[str]:
    """Default output column names: the input name plus the stage's suffix (`c1` -> `c1_idx`)."""
    return [f"{c}{suffix}" for c in inputs]


class MultiColumnSpec(StageSpec):
    """A stage that maps each of its `inputs` to one output: `outputs` (one name per input) or
    `<input><suffix>`.

    Subclasses are frozen dataclasses with the fields `inputs: list[str]` and `outputs: list[str] | None =
    None`; they set `suffix` (their Transformer's) and `output_type` (the Spark type and kind of every
    output), pass `self.column_params()` to their Transformer, and call `super().validate()` after their
    own checks. A spec with a true `indicator` field also writes a 0/1 `<output>_missing` per output.
    """

    inputs: list[str]  # declared again by each subclass: annotations here make no dataclass fields
    outputs: list[str] | None
    suffix: ClassVar[str] = ""
    output_type: ClassVar[tuple[str, str]] = ("double", NUMERIC_KIND)

    def validate(self) -> None:
        if self.outputs is not None and len(self.outputs) != len(self.inputs):
            raise ValueError(f"outputs: {len(self.outputs)} names for {len(self.inputs)} inputs")

    def output_names(self) -> list[str]:
        return list(self.outputs or output_names(self.inputs, self.suffix))

    def output_columns(self, input_types: dict[str, str]) -> list[OutputColumn]:
        cols = [OutputColumn(o, *self.output_type) for o in self.output_names()]
        if getattr(self, "indicator", False):
            cols += [OutputColumn(f"{o}_missing", "int", CATEGORICAL_KIND) for o in self.output_names()]
        return cols

    def column_params(self) -> dict[str, list[str]]:
        """The Transformer's `inputCols` and `outputCols`."""
        return {"inputCols": self.inputs, "outputCols": self.output_names()}


_STAGES: Plugins[type[StageSpec]] = Plugins("stage type", "pipelines.features.stages", name_attr="type_name")
STAGES: dict[str, type[StageSpec]] = _STAGES.registered


def register(name: str):
    """Class decorator: make a spec dataclass usable as `type: <name>` in pipeline YAML."""
    return _STAGES.register(name)


def stages() -> dict[str, type[StageSpec]]:
    """All registered stage types (imports every module of pipelines.features.stages once)."""
    return _STAGES.load()


_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")


def expand(names: list[str]) -> list[str]:
    """Expand `i{1..13}` into i1 .. i13 (one range per name), so YAML needs no 39-item lists."""
    out: list[str] = []
    for name in names:
        m = _RANGE.search(name)
        if not m:
            out.append(name)
            continue
        lo, hi = int(m.group(1)), int(m.group(2))
        step = 1 if hi >= lo else -1
        out += [name[: m.start()] + str(i) + name[m.end() :] for i in range(lo, hi + step, step)]
    return out
