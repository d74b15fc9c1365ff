"""Field-aware factorization machine (Juan et al. 2016): each value has one vector per other field.

The table has total_vocab_size x fields x embed_dim weights, so `max_parameters` guards against a
feature map with huge hashed fields (lower embed_dim, or a pipeline with fewer buckets, then)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pipelines.common.errors import ConfigError
from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel, ModelConfig
from pipelines.ctr.models.blocks import LinearTerm


@dataclass(frozen=True, kw_only=True)
class FFMConfig(ModelConfig):
    embed_dim: int = 4
    max_parameters: int = 50_000_000


@register("ffm")
class FFM(CtrModel):
    config_class = FFMConfig

    def __init__(self, spec, cfg: FFMConfig):
        super().__init__(spec, cfg)
        fields, dim = spec.num_fields_total, cfg.embed_dim
        size = spec.total_vocab_size * fields * dim
        if size > cfg.max_parameters:
            raise ConfigError(f"ffm: {spec.total_vocab_size} values x {fields} fields x embed_dim {dim} = {size:,} "
                              f"weights exceeds max_parameters {cfg.max_parameters:,}")
        self.fields, self.dim = fields, dim
        self.linear = LinearTerm(spec.total_vocab_size, len(spec.num_fields), cfg.sparse_embeddings)
        self.table = nn.Embedding(max(spec.total_vocab_size, 1), fields * dim, sparse=cfg.sparse_embeddings)
        nn.init.normal_(self.table.weight, std=0.01)
        self.numeric = nn.Parameter(torch.randn(len(spec.num_fields), fields * dim) * 0.01)
        i, j = torch.triu_indices(fields, fields, offset=1)
        self.register_buffer("pair_i", i, persistent=False)
        self.register_buffer("pair_j", j, persistent=False)

    def forward(self, cat, num):
        v = self.table(cat)  # [B, F, fields * D]
        if self.numeric.shape[0]:
            v = torch.cat([v, num.unsqueeze(-1) * self.numeric], dim=1)
        v = v.view(v.shape[0], self.fields, self.fields, self.dim)  # [B, field i, towards field j, D]
        pairs = (v[:, self.pair_i, self.pair_j] * v[:, self.pair_j, self.pair_i]).sum(dim=(1, 2))
        return self.linear(cat, num) + pairs
