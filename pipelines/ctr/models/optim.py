"""SparseAdagradDenseAdam: Adagrad on the embedding tables, Adam on every dense weight, in one optimizer.

The recipe of production CTR trainers (TorchRec's fused row-wise Adagrad for tables beside Adam for the
dense arch, DeepCTR-Torch and FuxiCTR's Adam defaults for MLPs): embedding rows are updated rarely and
by their own history, so Adagrad's per-coordinate sum suits them; the MLP, cross and output weights see
every batch and tiny gradients that Adagrad with a starting accumulator barely moves. Measured on the
criteo_like profile (200k rows a day, docs/deep-ctr.md): DeepFM's MLP contributed nothing under plain
Adagrad (AUC equal to FM's); with Adam on the dense part DeepFM gains +0.013 AUC.

It is one `torch.optim.Optimizer` whose param groups carry their `rule` ("adagrad" or "adam"), so
Horovod's DistributedOptimizer, which rebuilds an optimizer of the same class from its param groups,
checkpoints and `broadcast_optimizer_state` all work unchanged. The update rules are written out here
(the same as torch's Adagrad and Adam without amsgrad) so they do not depend on torch's private
functional API; sparse gradients (nn.Embedding(sparse=True)) update only the rows a batch touched.
"""

from __future__ import annotations

import torch
from torch import nn

RULES = ("adagrad", "adam")


def split_param_groups(
    model: nn.Module, *, lr: float, dense_lr: float, initial_accumulator: float, weight_decay: float
) -> list[dict]:
    """[embedding tables -> adagrad, everything else -> adam]; a group with no parameters is left out."""
    tables = {
        id(p)
        for m in model.modules()
        if isinstance(m, nn.Embedding | nn.EmbeddingBag)
        for p in m.parameters(recurse=False)
    }
    emb = [p for p in model.parameters() if id(p) in tables]
    dense = [p for p in model.parameters() if id(p) not in tables]
    groups = [
        {"params": emb, "rule": "adagrad", "lr": lr, "initial_accumulator": initial_accumulator, "weight_decay": 0.0},
        {"params": dense, "rule": "adam", "lr": dense_lr, "weight_decay": weight_decay},
    ]
    return [g for g in groups if g["params"]]


class SparseAdagradDenseAdam(torch.optim.Optimizer):
    def __init__(
        self,
        params,
        lr: float = 0.05,
        initial_accumulator: float = 0.0,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        adagrad_eps: float = 1e-10,
        weight_decay: float = 0.0,
        rule: str = "adam",
    ):
        defaults = dict(
            lr=lr,
            initial_accumulator=initial_accumulator,
            betas=tuple(betas),
            eps=eps,
            adagrad_eps=adagrad_eps,
            weight_decay=weight_decay,
            rule=rule,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            if group["rule"] not in RULES:
                raise ValueError(f"param group rule '{group['rule']}' is not one of {', '.join(RULES)}")
            # state made now, as torch's Adagrad does: Horovod's broadcast_optimizer_state would otherwise
            # take an extra zero-gradient step to create it
            for p in group["params"]:
                self._state(p, group["rule"], group)

    def _state(self, p: torch.Tensor, rule: str, group: dict) -> dict:
        st = self.state[p]
        if not st:
            st["step"] = torch.zeros((), dtype=torch.float32)
            if rule == "adagrad":
                st["sum"] = torch.full_like(p, group["initial_accumulator"], memory_format=torch.preserve_format)
            else:
                st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return st

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            rule, lr = group["rule"], group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self._state(p, rule, group)
                st["step"] += 1
                if rule == "adagrad":
                    _adagrad(p, p.grad, st["sum"], lr, group["adagrad_eps"])
                else:
                    _adam(p, p.grad, st, lr, group)
        return loss


def touched_rows(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(unique rows, their summed gradient) of an embedding's sparse gradient: what `coalesce()` gives, by
    torch.unique + index_add_, about 1.5x faster than coalesce on the CPU (a DeepFM batch of 2,048 x 41
    lookups into 1.4M x 16: 12-14 ms against 18-23 ms, one thread)."""
    if g.is_coalesced():
        return g.indices()[0], g.values()
    idx, vals = g._indices()[0], g._values()
    rows, inverse = torch.unique(idx, return_inverse=True)
    return rows, vals.new_zeros((len(rows), *vals.shape[1:])).index_add_(0, inverse, vals)


def _adagrad(p: torch.Tensor, g: torch.Tensor, acc: torch.Tensor, lr: float, eps: float) -> None:
    if g.is_sparse:
        rows, vals = touched_rows(g)
        acc.index_add_(0, rows, vals * vals)
        p.index_add_(0, rows, vals / (acc.index_select(0, rows).sqrt() + eps), alpha=-lr)
        return
    acc.addcmul_(g, g, value=1.0)
    p.addcdiv_(g, acc.sqrt().add_(eps), value=-lr)


def _adam(p: torch.Tensor, g: torch.Tensor, st: dict, lr: float, group: dict) -> None:
    if g.is_sparse:
        g = g.to_dense()
    if group["weight_decay"]:
        g = g.add(p, alpha=group["weight_decay"])
    b1, b2 = group["betas"]
    t = float(st["step"])
    st["exp_avg"].lerp_(g, 1 - b1)
    st["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (st["exp_avg_sq"] / (1 - b2**t)).sqrt_().add_(group["eps"])
    p.addcdiv_(st["exp_avg"], denom, value=-lr / (1 - b1**t))
