"""The shared base of every deep CTR model: the feature spec taken from feature_map.json, the common
hyper-parameters, the loss, and saving / loading a trained model as two files.

A model file is about its layers only: it subclasses `CtrModel`, declares its config dataclass (a
subclass of `ModelConfig`, so every key is checked) and implements `forward(cat, num) -> logits`.

Inputs of every model: `cat` int64 [B, F] global indices into one shared embedding table
(`offset + local index` of each categorical field of the feature map, total_vocab_size rows) and
`num` float32 [B, N] numeric fields, both in the feature map's field order.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from pipelines.common import storage
from pipelines.core.errors import DataError

FORMAT_VERSION = 1
MODEL_FILE, META_FILE = "model.pt", "model.json"


@dataclass(frozen=True)
class FeatureSpec:
    """What a model needs of a feature map: categorical fields with their offsets, numeric fields."""

    label: str
    cat_fields: list[str]
    offsets: list[int]
    vocab_sizes: list[int]
    num_fields: list[str]
    total_vocab_size: int
    feature_map_version: str = ""

    @classmethod
    def from_feature_map(cls, fm) -> FeatureSpec:
        multi = [f.name for f in fm.fields if f.kind == "multi_valued"]
        if multi:
            raise DataError(
                f"feature map {fm.version} of {fm.table} has multi-valued fields {multi}: the deep "
                f"CTR models take categorical and numeric fields only (drop them from the pipeline's "
                f"`features`)"
            )
        cats = [f for f in fm.fields if f.kind == "categorical"]
        return cls(
            label=fm.label,
            cat_fields=[f.name for f in cats],
            offsets=[int(f.offset) for f in cats],
            vocab_sizes=[int(f.vocab_size) for f in cats],
            num_fields=fm.names("numeric"),
            total_vocab_size=int(fm.total_vocab_size),
            feature_map_version=fm.version,
        )

    @property
    def num_fields_total(self) -> int:
        return len(self.cat_fields) + len(self.num_fields)

    def columns(self) -> list[str]:
        return [self.label, *self.cat_fields, *self.num_fields]


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Hyper-parameters every model has. `variants` are named overlays (e.g. `test`), checked like the rest."""

    embed_dim: int = 16
    optimizer: Literal["adagrad", "adam", "sgd"] = "adagrad"
    learning_rate: float = 0.05
    weight_decay: float = 0.0
    # adagrad's starting sum of squared gradients: torch's 0 makes the first step lr x sign(g) for every
    # coordinate however small g is, which blows up FM / cross terms on small data; 0.01 does not and, on
    # the deep CTR bench, scored better than TensorFlow's 0.1 (docs/benchmarks.md); lr.yml keeps 0
    adagrad_initial_accumulator: float = 0.01
    # sparse embedding gradients: only the rows a batch touches are sent and updated (adagrad / sgd)
    sparse_embeddings: bool = True
    # same: `optimizer` updates every parameter; adam: `optimizer` (adagrad) updates the embedding tables
    # and Adam at dense_learning_rate the dense weights (MLP, cross, output: models/optim.py); with
    # optimizer adam everything is Adam at learning_rate
    dense_optimizer: Literal["same", "adam"] = "same"
    dense_learning_rate: float = 0.001
    # the learning rate rises linearly from learning_rate / warmup_steps to learning_rate over the first
    # warmup_steps optimizer steps of the run (0: none)
    warmup_steps: int = 0
    seed: int = 7
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    def validate(self) -> None:
        if (
            self.embed_dim < 1
            or self.learning_rate <= 0
            or self.weight_decay < 0
            or self.adagrad_initial_accumulator < 0
            or self.warmup_steps < 0
        ):
            raise ValueError(
                "embed_dim >= 1, learning_rate > 0, weight_decay >= 0, "
                "adagrad_initial_accumulator >= 0 and warmup_steps >= 0 are required"
            )
        if self.sparse_embeddings and self.optimizer == "adam":
            raise ValueError(
                "optimizer adam cannot update sparse embeddings: use adagrad or sgd, or set sparse_embeddings: false"
            )
        if self.dense_optimizer == "adam" and (self.optimizer == "sgd" or self.dense_learning_rate <= 0):
            raise ValueError(
                "dense_optimizer adam goes with optimizer adagrad (the embedding tables') and dense_learning_rate > 0"
            )
        if self.sparse_embeddings and self.weight_decay > 0:
            raise ValueError("weight_decay needs dense gradients: set sparse_embeddings: false")


class CtrModel(nn.Module):
    """Base of the model zoo. Subclasses set `name` and `config_class` and implement `forward`.

    `output_bias` names the parameter that is the constant term of the logit: `init_output_bias(p)` sets
    it to logit(p), and every other term starts near 0 (small embeddings, zero linear weights, a last layer
    without offset: blocks.py), so a fresh model predicts the training window's positive rate, not 0.5.
    `logloss_objective` says the loss is the plain log loss, which the training loop's explosion guard
    compares with the base rate's entropy."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    output_bias: ClassVar[str | None] = "linear.bias"
    logloss_objective: ClassVar[bool] = True

    def __init__(self, spec: FeatureSpec, cfg: ModelConfig):
        super().__init__()
        self.spec, self.cfg = spec, cfg

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:  # logits [B]
        raise NotImplementedError

    @torch.no_grad()
    def init_output_bias(self, p: float) -> None:
        """Start at the positive rate p: logit(p) on the output bias (a no-op for a model without one)."""
        if self.output_bias is not None:
            p = min(max(p, 1e-6), 1 - 1e-6)
            self.get_parameter(self.output_bias).fill_(math.log(p / (1 - p)))

    def loss(self, cat: torch.Tensor, num: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Mean log loss of the batch."""
        return nn.functional.binary_cross_entropy_with_logits(self(cat, num), label)

    @torch.no_grad()
    def predict(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self(cat, num))

    def make_optimizer(self) -> torch.optim.Optimizer:
        c = self.cfg
        if c.dense_optimizer == "adam" and c.optimizer == "adagrad":
            from pipelines.ctr.models.optim import SparseAdagradDenseAdam, split_param_groups

            return SparseAdagradDenseAdam(
                split_param_groups(
                    self,
                    lr=c.learning_rate,
                    dense_lr=c.dense_learning_rate,
                    initial_accumulator=c.adagrad_initial_accumulator,
                    weight_decay=c.weight_decay,
                )
            )
        if c.optimizer == "adam":
            return torch.optim.Adam(self.parameters(), lr=c.learning_rate, weight_decay=c.weight_decay)
        if c.optimizer == "adagrad":
            return torch.optim.Adagrad(
                self.parameters(),
                lr=c.learning_rate,
                weight_decay=c.weight_decay,
                initial_accumulator_value=c.adagrad_initial_accumulator,
            )
        return torch.optim.SGD(self.parameters(), lr=c.learning_rate, weight_decay=c.weight_decay)


def plain_config(cfg: ModelConfig) -> dict:
    from pipelines.common import schema

    return {k: v for k, v in schema.to_plain(cfg).items() if k != "variants"}


def save_model(model: CtrModel, out_dir: str) -> None:
    """<out_dir>/model.pt (state dict) and <out_dir>/model.json (model name, config, feature spec); a path
    or any URI pipelines.common.storage opens."""
    state = io.BytesIO()
    torch.save(model.state_dict(), state)
    storage.write_bytes(f"{out_dir}/{MODEL_FILE}", state.getvalue())
    meta = {
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "config": plain_config(model.cfg),
        "features": asdict(model.spec),
    }
    storage.write_json(f"{out_dir}/{META_FILE}", meta)


def load_model(model_dir: str) -> CtrModel:
    """A saved model (a path or any URI pipelines.common.storage opens), in eval mode."""
    from pipelines.common import schema
    from pipelines.ctr.models import model_class

    base = model_dir.rstrip("/")
    meta = storage.read_json(f"{base}/{META_FILE}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{base}/{META_FILE}: model format {meta.get('format_version')} is not {FORMAT_VERSION}")
    cls = model_class(meta["model"])
    cfg = schema.build(cls.config_class, meta["config"], where=lambda p: f"{base}/{META_FILE}")
    model = cls(FeatureSpec(**meta["features"]), cfg)
    state = torch.load(io.BytesIO(storage.read_bytes(f"{base}/{MODEL_FILE}")), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
