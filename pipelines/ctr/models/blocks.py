"""Layers the models share: embeddings, the linear term, MLP, FM interaction, cross networks."""

from __future__ import annotations

import torch
from torch import nn


class FieldEmbedding(nn.Module):
    """Every field as a D-vector: categorical fields from one shared table (global indices), numeric
    fields as value x a learnt vector per field. Output [B, F + N, D]."""

    def __init__(self, total_vocab: int, num_numeric: int, dim: int, sparse: bool):
        super().__init__()
        self.table = nn.Embedding(max(total_vocab, 1), dim, sparse=sparse)
        nn.init.normal_(self.table.weight, std=0.01)
        self.numeric = nn.Parameter(torch.randn(num_numeric, dim) * 0.01)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        parts = [self.table(cat)]
        if self.numeric.shape[0]:
            parts.append(num.unsqueeze(-1) * self.numeric)
        return torch.cat(parts, dim=1)


def logit_head(in_dim: int, out_dim: int = 1) -> nn.Linear:
    """A model's last layer without an offset of its own, so a fresh model's logit is its output bias
    (CtrModel.init_output_bias) give or take a few hundredths: its inputs (embeddings of std 0.01, the
    hidden units they feed) are small. Its weights keep torch's default scale: shrunk to N(0, 0.001), the
    gradients reaching DCN's cross and deep parts were too small for Adagrad (AUC -0.02 to -0.05 on the
    deep CTR bench)."""
    layer = nn.Linear(in_dim, out_dim)
    nn.init.zeros_(layer.bias)
    return layer


class LinearTerm(nn.Module):
    """bias + one weight per categorical value + one weight per numeric field. Output [B].

    Every weight starts at 0 (`numeric.bias` too: `bias` is the one output bias)."""

    def __init__(self, total_vocab: int, num_numeric: int, sparse: bool):
        super().__init__()
        self.weights = nn.Embedding(max(total_vocab, 1), 1, sparse=sparse)
        nn.init.zeros_(self.weights.weight)
        self.numeric = nn.Linear(num_numeric, 1) if num_numeric else None
        if self.numeric is not None:
            nn.init.zeros_(self.numeric.weight)
            nn.init.zeros_(self.numeric.bias)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        out = self.weights(cat).sum(dim=(1, 2)) + self.bias
        if self.numeric is not None:
            out = out + self.numeric(num).squeeze(-1)
        return out


class MLP(nn.Sequential):
    """Linear -> (BatchNorm) -> ReLU -> (Dropout) per hidden layer, then an optional output layer (a logit
    head without offset when out_dim is 1)."""

    def __init__(
        self, in_dim: int, hidden: list[int], dropout: float = 0.0, batch_norm: bool = False, out_dim: int | None = 1
    ):
        layers: list[nn.Module] = []
        for width in hidden:
            layers.append(nn.Linear(in_dim, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
            in_dim = width
        if out_dim is not None:
            layers.append(logit_head(in_dim) if out_dim == 1 else nn.Linear(in_dim, out_dim))
        super().__init__(*layers)
        self.out_features = out_dim if out_dim is not None else in_dim


def fm_interaction(emb: torch.Tensor) -> torch.Tensor:
    """Sum of the pairwise dot products of the field vectors, in O(F D): [B, F, D] -> [B]."""
    square_of_sum = emb.sum(dim=1).pow(2)
    sum_of_square = emb.pow(2).sum(dim=1)
    return 0.5 * (square_of_sum - sum_of_square).sum(dim=1)


class CrossNetwork(nn.Module):
    """DCN's cross layers: x_{l+1} = x0 * (x_l . w_l) + b_l + x_l (one vector w_l per layer)."""

    def __init__(self, dim: int, layers: int):
        super().__init__()
        self.w = nn.ParameterList([nn.Parameter(torch.randn(dim) * 0.01) for _ in range(layers)])
        self.b = nn.ParameterList([nn.Parameter(torch.zeros(dim)) for _ in range(layers)])

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for w, b in zip(self.w, self.b, strict=True):
            x = x0 * (x @ w).unsqueeze(-1) + b + x
        return x


class CrossNetworkV2(nn.Module):
    """DCN-v2's cross layers: x_{l+1} = x0 * (W_l x_l + b_l) + x_l, W_l full or low rank (U V^T)."""

    def __init__(self, dim: int, layers: int, low_rank: int | None = None):
        super().__init__()
        if low_rank:
            self.maps = nn.ModuleList(
                nn.Sequential(nn.Linear(dim, low_rank, bias=False), nn.Linear(low_rank, dim)) for _ in range(layers)
            )
        else:
            self.maps = nn.ModuleList(nn.Linear(dim, dim) for _ in range(layers))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for m in self.maps:
            x = x0 * m(x) + x
        return x
