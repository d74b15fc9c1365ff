"""DCN-v2 (Wang et al. 2021): matrix cross layers (optionally low rank) in parallel with an MLP."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.ctr.models import register
from pipelines.ctr.models.blocks import CrossNetworkV2
from pipelines.ctr.models.dcn import DCN, DCNConfig


@dataclass(frozen=True, kw_only=True)
class DCNv2Config(DCNConfig):
    low_rank: int | None = 64  # rank of each cross layer's W = U V^T; null = full matrix

    def validate(self) -> None:
        super().validate()
        if self.low_rank is not None and self.low_rank < 1:
            raise ValueError("low_rank must be >= 1 or null")


@register("dcn_v2")
class DCNv2(DCN):
    """DCN with matrix cross layers."""

    config_class = DCNv2Config

    def cross_network(self, dim: int, cfg: DCNv2Config):
        return CrossNetworkV2(dim, cfg.cross_layers, cfg.low_rank)
