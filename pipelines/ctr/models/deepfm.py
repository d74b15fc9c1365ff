"""DeepFM (Guo et al. 2017): FM and an MLP sharing the same field vectors."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel
from pipelines.ctr.models.blocks import MLP, FieldEmbedding, LinearTerm, fm_interaction
from pipelines.ctr.models.wide_deep import WideDeepConfig


@dataclass(frozen=True, kw_only=True)
class DeepFMConfig(WideDeepConfig):
    pass


@register("deepfm")
class DeepFM(CtrModel):
    config_class = DeepFMConfig

    def __init__(self, spec, cfg: DeepFMConfig):
        super().__init__(spec, cfg)
        self.linear = LinearTerm(spec.total_vocab_size, len(spec.num_fields), cfg.sparse_embeddings)
        self.embedding = FieldEmbedding(
            spec.total_vocab_size, len(spec.num_fields), cfg.embed_dim, cfg.sparse_embeddings
        )
        self.deep = MLP(spec.num_fields_total * cfg.embed_dim, cfg.hidden_units, cfg.dropout, cfg.batch_norm)

    def forward(self, cat, num):
        emb = self.embedding(cat, num)
        return self.linear(cat, num) + fm_interaction(emb) + self.deep(emb.flatten(1)).squeeze(-1)
