"""Field-aware factorization machine (Juan et al. 2016): each value has one vector per other field.

The field-aware table has rows x fields x embed_dim weights. A field wider than `max_field_vocab` (a
hashed field of 2^18 buckets, a long-tailed id) shares its field-aware vectors among its values folded
to that many rows (index i >= m goes to 2 + (i - 2) mod (m - 2), so missing and unknown keep their own);
its linear weights stay one per value. `max_parameters` then guards the rest."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pipelines.core.errors import ConfigError
from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel, ModelConfig
from pipelines.ctr.models.blocks import LinearTerm


@dataclass(frozen=True, kw_only=True)
class FFMConfig(ModelConfig):
    embed_dim: int = 4
    max_parameters: int = 50_000_000
    max_field_vocab: int = 4096  # field-aware rows per field at most (0 = never fold)

    def validate(self) -> None:
        super().validate()
        if self.max_field_vocab != 0 and self.max_field_vocab < 3:
            raise ValueError("max_field_vocab must be 0 (never fold) or >= 3 (missing and unknown keep their rows)")


@register("ffm")
class FFM(CtrModel):
    config_class = FFMConfig

    def __init__(self, spec, cfg: FFMConfig):
        super().__init__(spec, cfg)
        fields, dim = spec.num_fields_total, cfg.embed_dim
        vocab = torch.tensor(spec.vocab_sizes, dtype=torch.int64)
        caps = torch.clamp(vocab, max=cfg.max_field_vocab) if cfg.max_field_vocab else vocab
        rows = int(caps.sum())
        size = rows * fields * dim
        if size > cfg.max_parameters:
            raise ConfigError(
                f"ffm: {rows} field-aware rows x {fields} fields x embed_dim {dim} = {size:,} weights "
                f"exceeds max_parameters {cfg.max_parameters:,} (lower max_field_vocab or embed_dim)"
            )
        self.fields, self.dim = fields, dim
        # derived from the feature spec, not state: persistent=False keeps saved models as they were
        self.register_buffer("field_offset", torch.tensor(spec.offsets, dtype=torch.int64), persistent=False)
        self.register_buffer("field_cap", caps, persistent=False)
        self.register_buffer("row_offset", torch.cumsum(caps, 0) - caps, persistent=False)
        self.linear = LinearTerm(spec.total_vocab_size, len(spec.num_fields), cfg.sparse_embeddings)
        self.table = nn.Embedding(max(rows, 1), fields * dim, sparse=cfg.sparse_embeddings)
        nn.init.normal_(self.table.weight, std=0.01)
        self.numeric = nn.Parameter(torch.randn(len(spec.num_fields), fields * dim) * 0.01)
        i, j = torch.triu_indices(fields, fields, offset=1)
        self.register_buffer("pair_i", i, persistent=False)
        self.register_buffer("pair_j", j, persistent=False)

    def rows(self, cat: torch.Tensor) -> torch.Tensor:
        """Global indices -> rows of the field-aware table (wide fields folded)."""
        local, cap = cat - self.field_offset, self.field_cap
        folded = torch.where(local < cap, local, 2 + (local - 2) % torch.clamp(cap - 2, min=1))
        return folded + self.row_offset

    def forward(self, cat, num):
        v = self.table(self.rows(cat))  # [B, F, fields * D]
        if self.numeric.shape[0]:
            v = torch.cat([v, num.unsqueeze(-1) * self.numeric], dim=1)
        v = v.view(v.shape[0], self.fields, self.fields, self.dim)  # [B, field i, towards field j, D]
        pairs = (v[:, self.pair_i, self.pair_j] * v[:, self.pair_j, self.pair_i]).sum(dim=(1, 2))
        return self.linear(cat, num) + pairs
