"""Deep & Cross Network (Wang et al. 2017): cross layers and an MLP in parallel over the field vectors."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel
from pipelines.ctr.models.blocks import MLP, CrossNetwork, FieldEmbedding, logit_head
from pipelines.ctr.models.wide_deep import WideDeepConfig


@dataclass(frozen=True, kw_only=True)
class DCNConfig(WideDeepConfig):
    cross_layers: int = 3

    def validate(self) -> None:
        super().validate()
        if self.cross_layers < 1:
            raise ValueError("cross_layers must be >= 1")


@register("dcn")
class DCN(CtrModel):
    config_class = DCNConfig
    output_bias = "out.bias"

    def __init__(self, spec, cfg: DCNConfig):
        super().__init__(spec, cfg)
        dim = spec.num_fields_total * cfg.embed_dim
        self.embedding = FieldEmbedding(
            spec.total_vocab_size, len(spec.num_fields), cfg.embed_dim, cfg.sparse_embeddings
        )
        self.cross = self.cross_network(dim, cfg)
        self.deep = MLP(dim, cfg.hidden_units, cfg.dropout, cfg.batch_norm, out_dim=None)
        self.out = logit_head(dim + self.deep.out_features)

    def cross_network(self, dim: int, cfg: DCNConfig):
        return CrossNetwork(dim, cfg.cross_layers)

    def forward(self, cat, num):
        x0 = self.embedding(cat, num).flatten(1)
        return self.out(torch.cat([self.cross(x0), self.deep(x0)], dim=1)).squeeze(-1)
