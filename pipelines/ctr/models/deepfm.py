"""DeepFM (Guo et al. 2017): FM and an MLP sharing the same field vectors."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.ctr.models import register
from pipelines.ctr.models.blocks import fm_interaction
from pipelines.ctr.models.wide_deep import WideDeep, WideDeepConfig


@dataclass(frozen=True, kw_only=True)
class DeepFMConfig(WideDeepConfig):
    pass


@register("deepfm")
class DeepFM(WideDeep):
    """Wide & Deep's parts (linear term, field vectors, MLP), plus the FM interaction of the field vectors."""

    config_class = DeepFMConfig

    def forward(self, cat, num):
        emb = self.embedding(cat, num)
        return self.linear(cat, num) + fm_interaction(emb) + self.deep(emb.flatten(1)).squeeze(-1)
