"""A small CTR model: the mean of the field vectors through an MLP (`--model mean_mlp`; docs/adding-a-model.md).

A real model is this file in pipelines/ctr/models/ and its config conf/base/models/mean_mlp.yml.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel, ModelConfig
from pipelines.ctr.models.blocks import MLP, FieldEmbedding


@dataclass(frozen=True, kw_only=True)
class MeanMLPConfig(ModelConfig):  # the keys of conf/base/models/mean_mlp.yml beyond ModelConfig's
    hidden_units: list[int] = field(default_factory=lambda: [32])

    def validate(self) -> None:
        super().validate()
        if not self.hidden_units or any(h < 1 for h in self.hidden_units):
            raise ValueError("hidden_units: one or more positive widths")


@register("mean_mlp")
class MeanMLP(CtrModel):
    config_class = MeanMLPConfig
    output_bias = "bias"  # init_output_bias sets it to the training window's logit(positive rate)

    def __init__(self, spec, cfg: MeanMLPConfig):
        super().__init__(spec, cfg)
        self.embedding = FieldEmbedding(
            spec.total_vocab_size, len(spec.num_fields), cfg.embed_dim, cfg.sparse_embeddings
        )
        self.mlp = MLP(cfg.embed_dim, cfg.hidden_units)  # ends in a logit head without offset
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, cat, num):  # cat int64 [B, F] global indices, num float32 [B, N] -> logits [B]
        return self.mlp(self.embedding(cat, num).mean(1)).squeeze(-1) + self.bias
