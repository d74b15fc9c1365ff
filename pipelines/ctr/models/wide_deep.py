"""Wide & Deep (Cheng et al. 2016): a linear (wide) part plus an MLP over the field vectors."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel, ModelConfig
from pipelines.ctr.models.blocks import MLP, FieldEmbedding, LinearTerm


@dataclass(frozen=True, kw_only=True)
class WideDeepConfig(ModelConfig):
    hidden_units: list[int] = field(default_factory=lambda: [256, 128])
    dropout: float = 0.0
    batch_norm: bool = False

    def validate(self) -> None:
        super().validate()
        if not 0 <= self.dropout < 1 or any(h < 1 for h in self.hidden_units):
            raise ValueError("dropout in [0, 1) and positive hidden_units are required")


@register("wide_deep")
class WideDeep(CtrModel):
    config_class = WideDeepConfig

    def __init__(self, spec, cfg: WideDeepConfig):
        super().__init__(spec, cfg)
        self.linear = LinearTerm(spec.total_vocab_size, len(spec.num_fields), cfg.sparse_embeddings)
        self.embedding = FieldEmbedding(
            spec.total_vocab_size, len(spec.num_fields), cfg.embed_dim, cfg.sparse_embeddings
        )
        self.deep = MLP(spec.num_fields_total * cfg.embed_dim, cfg.hidden_units, cfg.dropout, cfg.batch_norm)

    def forward(self, cat, num):
        deep = self.deep(self.embedding(cat, num).flatten(1)).squeeze(-1)
        return self.linear(cat, num) + deep
