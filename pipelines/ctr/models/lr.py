"""Logistic regression: one weight per categorical value and per numeric field."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel, ModelConfig
from pipelines.ctr.models.blocks import LinearTerm


@dataclass(frozen=True, kw_only=True)
class LRConfig(ModelConfig):
    pass


@register("lr")
class LR(CtrModel):
    config_class = LRConfig

    def __init__(self, spec, cfg: LRConfig):
        super().__init__(spec, cfg)
        self.linear = LinearTerm(spec.total_vocab_size, len(spec.num_fields), cfg.sparse_embeddings)

    def forward(self, cat, num):
        return self.linear(cat, num)
