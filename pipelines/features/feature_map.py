"""feature_map.json: the contract between a fitted feature pipeline and the trainers.

For every feature column of feat.<pipeline>: its kind (categorical / numeric / multi_valued), Spark
type, and for categorical and multi-valued fields the vocabulary size and the global offset.

Index layout: a categorical column of feat holds a *local* index in [0, vocab_size); the global
index into one shared embedding table is `offset + local`. Offsets are the running sum of the
vocabulary sizes of the categorical and multi-valued fields in `fields` order, so
`total_vocab_size` rows cover all of them. Reserved local indices (missing, unknown) are listed per
field. Numeric fields are doubles without nulls where an imputer ran before them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from pipelines.core.errors import DataError
from pipelines.features.stage_types import CATEGORICAL_KIND, MULTI_VALUED_KIND

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # categorical | numeric | multi_valued
    dtype: str  # Spark type of the feat column
    stage: str  # the stage that writes it
    stage_type: str
    inputs: list[str]  # the columns the stage read
    vocab_size: int | None = None  # local indices are 0 .. vocab_size-1
    offset: int | None = None  # global index = offset + local index
    reserved: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureMap:
    pipeline: str
    version: str  # the fitted model's version
    table: str  # feat.<pipeline>
    label: str
    fields: list[Field]
    total_vocab_size: int
    format_version: int = FORMAT_VERSION

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def names(self, kind: str) -> list[str]:
        return [f.name for f in self.fields if f.kind == kind]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> FeatureMap:
        doc = json.loads(text)
        if doc.get("format_version") != FORMAT_VERSION:
            raise DataError(f"feature map format {doc.get('format_version')} is not {FORMAT_VERSION}")
        return cls(**{**doc, "fields": [Field(**f) for f in doc["fields"]]})


def fitted_vocab_sizes(model) -> dict[str, int]:
    """Vocabulary size of every categorical output of a fitted PipelineModel."""
    sizes: dict[str, int] = {}
    for stage in model.stages:
        fn = getattr(stage, "vocabSizes", None)
        if fn is not None:
            sizes.update(fn())
    return sizes


def build_feature_map(plan, model, version: str, table: str) -> FeatureMap:
    sizes = fitted_vocab_sizes(model)
    fields, offset = [], 0
    for name in plan.features:
        pc = plan.columns[name]
        kind = pc.column.kind
        vocab = off = None
        if kind in (CATEGORICAL_KIND, MULTI_VALUED_KIND):
            if name not in sizes:
                raise DataError(f"stage '{pc.stage}' ({pc.stage_type}) reports no vocabulary size for '{name}'")
            vocab, off = sizes[name], offset
            offset += vocab
        fields.append(
            Field(
                name=name,
                kind=kind,
                dtype=pc.column.dtype,
                stage=pc.stage,
                stage_type=pc.stage_type,
                inputs=list(pc.inputs),
                vocab_size=vocab,
                offset=off,
                reserved=dict(pc.reserved),
            )
        )
    return FeatureMap(
        pipeline=plan.name, version=version, table=table, label=plan.spec.label, fields=fields, total_vocab_size=offset
    )
