"""DCN-v2 (Wang et al. 2021): matrix cross layers (optionally low rank) in parallel with an MLP."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel
from pipelines.ctr.models.blocks import MLP, CrossNetworkV2, FieldEmbedding, logit_head
from pipelines.ctr.models.dcn import DCNConfig


@dataclass(frozen=True, kw_only=True)
class DCNv2Config(DCNConfig):
    low_rank: int | None = 64  # rank of each cross layer's W = U V^T; null = full matrix

    def validate(self) -> None:
        super().validate()
        if self.low_rank is not None and self.low_rank < 1:
            raise ValueError("low_rank must be >= 1 or null")


@register("dcn_v2")
class DCNv2(CtrModel):
    config_class = DCNv2Config
    output_bias = "out.bias"

    def __init__(self, spec, cfg: DCNv2Config):
        super().__init__(spec, cfg)
        dim = spec.num_fields_total * cfg.embed_dim
        self.embedding = FieldEmbedding(
            spec.total_vocab_size, len(spec.num_fields), cfg.embed_dim, cfg.sparse_embeddings
        )
        self.cross = CrossNetworkV2(dim, cfg.cross_layers, cfg.low_rank)
        self.deep = MLP(dim, cfg.hidden_units, cfg.dropout, cfg.batch_norm, out_dim=None)
        self.out = logit_head(dim + self.deep.out_features)

    def forward(self, cat, num):
        x0 = self.embedding(cat, num).flatten(1)
        return self.out(torch.cat([self.cross(x0), self.deep(x0)], dim=1)).squeeze(-1)
