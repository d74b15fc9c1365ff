"""Two-tower retrieval model: a user tower and an item tower map their fields to unit vectors; the score
is their scaled dot product. Trained with in-batch negatives (sampled softmax over the batch's clicked
pairs: every other clicked item of the batch is a negative) plus log loss on every row, so it also
predicts a click probability and can be evaluated like the CTR models.

Which feature-map fields belong to the user and which to the item is config (`user_fields`,
`item_fields`); `user_id_field` / `item_id_field` name the fields whose values identify a user / an
item in the exported embedding tables (`user_key` / `item_key`: raw id columns the feature table keeps,
exported instead of the indices, so an index's ids are the catalogue's own). Fields in neither list are not used."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from pipelines.core.errors import ConfigError
from pipelines.ctr.models import register
from pipelines.ctr.models.base import CtrModel, ModelConfig
from pipelines.ctr.models.blocks import MLP


@dataclass(frozen=True, kw_only=True)
class TwoTowerConfig(ModelConfig):
    user_fields: list[str]
    item_fields: list[str]
    user_id_field: str
    item_id_field: str
    user_key: str | None = None  # a raw column of the feature table (a `keep:` column) exported as the user id
    item_key: str | None = None  # ... as the item id; null: the id field's index is the exported id
    hidden_units: list[int] = field(default_factory=lambda: [128])
    output_dim: int = 32
    dropout: float = 0.0
    temperature: float = 0.1  # of the in-batch softmax
    in_batch_weight: float = 1.0  # weight of the in-batch softmax loss next to the log loss

    def validate(self) -> None:
        super().validate()
        if not self.user_fields or not self.item_fields:
            raise ValueError("user_fields and item_fields must not be empty")
        if set(self.user_fields) & set(self.item_fields):
            raise ValueError(f"fields in both towers: {sorted(set(self.user_fields) & set(self.item_fields))}")
        if self.user_id_field not in self.user_fields or self.item_id_field not in self.item_fields:
            raise ValueError("user_id_field must be one of user_fields and item_id_field one of item_fields")
        if self.temperature <= 0 or self.in_batch_weight < 0 or self.output_dim < 1:
            raise ValueError("temperature > 0, in_batch_weight >= 0 and output_dim >= 1 are required")


class _Tower(nn.Module):
    def __init__(self, table: nn.Embedding, cat_idx: list[int], num_idx: list[int], cfg: TwoTowerConfig):
        super().__init__()
        self.table = table  # shared with the other tower (one global index space)
        self.register_buffer("cat_idx", torch.tensor(cat_idx, dtype=torch.long), persistent=False)
        self.register_buffer("num_idx", torch.tensor(num_idx, dtype=torch.long), persistent=False)
        in_dim = len(cat_idx) * cfg.embed_dim + len(num_idx)
        self.mlp = MLP(in_dim, cfg.hidden_units, cfg.dropout, out_dim=cfg.output_dim)

    def forward(self, cat, num):
        x = self.table(cat.index_select(1, self.cat_idx)).flatten(1)
        if self.num_idx.numel():
            x = torch.cat([x, num.index_select(1, self.num_idx)], dim=1)
        return nn.functional.normalize(self.mlp(x), dim=1)


@register("two_tower")
class TwoTower(CtrModel):
    config_class = TwoTowerConfig
    output_bias = None  # a retrieval model: no base-rate start
    logloss_objective = False  # the in-batch softmax adds about log(clicked rows per batch)

    def __init__(self, spec, cfg: TwoTowerConfig):
        super().__init__(spec, cfg)
        known = set(spec.cat_fields) | set(spec.num_fields)
        unknown = [f for f in [*cfg.user_fields, *cfg.item_fields] if f not in known]
        if unknown:
            raise ConfigError(f"two_tower: fields {unknown} are not in feature map {spec.feature_map_version}")
        for key in ("user_id_field", "item_id_field"):
            if getattr(cfg, key) not in spec.cat_fields:
                raise ConfigError(f"two_tower: {key} '{getattr(cfg, key)}' must be a categorical field")
        self.table = nn.Embedding(max(spec.total_vocab_size, 1), cfg.embed_dim, sparse=cfg.sparse_embeddings)
        nn.init.normal_(self.table.weight, std=0.05)

        def idx(fields):
            return (
                [spec.cat_fields.index(f) for f in fields if f in spec.cat_fields],
                [spec.num_fields.index(f) for f in fields if f in spec.num_fields],
            )

        self.user_tower = _Tower(self.table, *idx(cfg.user_fields), cfg)
        self.item_tower = _Tower(self.table, *idx(cfg.item_fields), cfg)
        self.scale = nn.Parameter(torch.tensor(1.0 / cfg.temperature))
        self.bias = nn.Parameter(torch.zeros(1))

    def user_embedding(self, cat, num):
        return self.user_tower(cat, num)

    def item_embedding(self, cat, num):
        return self.item_tower(cat, num)

    def forward(self, cat, num):
        return self.scale * (self.user_tower(cat, num) * self.item_tower(cat, num)).sum(dim=1) + self.bias

    def loss(self, cat, num, label):
        u, i = self.user_tower(cat, num), self.item_tower(cat, num)
        logits = self.scale * (u * i).sum(dim=1) + self.bias
        loss = nn.functional.binary_cross_entropy_with_logits(logits, label)
        pos = label > 0.5
        if self.cfg.in_batch_weight and int(pos.sum()) > 1:
            up, ip = u[pos], i[pos]
            sim = up @ ip.T / self.cfg.temperature  # row k: user k against every clicked item of the batch
            loss = loss + self.cfg.in_batch_weight * nn.functional.cross_entropy(
                sim, torch.arange(sim.shape[0], device=sim.device)
            )
        return loss
