"""Factorization machine (Rendle 2010): linear term + pairwise dot products of the field vectors."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel, ModelConfig
from pipelines.ctr.models.blocks import FieldEmbedding, LinearTerm, fm_interaction


@dataclass(frozen=True, kw_only=True)
class FMConfig(ModelConfig):
    pass


@register("fm")
class FM(CtrModel):
    config_class = FMConfig

    def __init__(self, spec, cfg: FMConfig):
        super().__init__(spec, cfg)
        self.linear = LinearTerm(spec.total_vocab_size, len(spec.num_fields), cfg.sparse_embeddings)
        self.embedding = FieldEmbedding(
            spec.total_vocab_size, len(spec.num_fields), cfg.embed_dim, cfg.sparse_embeddings
        )

    def forward(self, cat, num):
        return self.linear(cat, num) + fm_interaction(self.embedding(cat, num))
