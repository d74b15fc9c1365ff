"""SparseAdagradDenseAdam: the same updates as torch's Adagrad on the tables and Adam on the rest, with
sparse or dense embedding gradients; its state survives a state_dict round trip; configs choose it."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from pipelines.ctr.models.optim import SparseAdagradDenseAdam, split_param_groups, touched_rows


class _Tiny(nn.Module):
    def __init__(self, sparse: bool):
        super().__init__()
        self.emb = nn.Embedding(50, 4, sparse=sparse)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.emb(x).sum(1)).squeeze(-1)


def _steps(model, opts, n, seed=1):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x, y = torch.randint(0, 50, (32, 3), generator=g), torch.rand(32, generator=g)
        for o in opts:
            o.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        for o in opts:
            o.step()


@pytest.mark.parametrize("sparse", [True, False])
def test_matches_torch_adagrad_on_tables_and_adam_on_dense(sparse):
    torch.manual_seed(0)
    ours = _Tiny(sparse)
    ref = copy.deepcopy(ours)
    ref.emb.sparse = False
    groups = split_param_groups(ours, lr=0.05, dense_lr=0.01, initial_accumulator=0.01, weight_decay=0.0)
    assert [g["rule"] for g in groups] == ["adagrad", "adam"]
    assert groups[0]["params"] == [ours.emb.weight] and len(groups[1]["params"]) == 2
    opt = SparseAdagradDenseAdam(groups)
    ref_opts = [
        torch.optim.Adagrad(ref.emb.parameters(), lr=0.05, initial_accumulator_value=0.01),
        torch.optim.Adam(ref.out.parameters(), lr=0.01),
    ]
    before = ours.emb.weight.detach().clone()
    _steps(ours, [opt], 20)
    _steps(ref, ref_opts, 20)
    assert not torch.equal(before, ours.emb.weight)
    for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)


def test_state_dict_round_trip_continues_identically():
    torch.manual_seed(0)
    a = _Tiny(True)
    opt_a = SparseAdagradDenseAdam(
        split_param_groups(a, lr=0.05, dense_lr=0.01, initial_accumulator=0.0, weight_decay=0.0)
    )
    _steps(a, [opt_a], 5)
    b = copy.deepcopy(a)
    # rebuilt from param groups alone, as Horovod's DistributedOptimizer does, then the state loaded
    opt_b = SparseAdagradDenseAdam(
        split_param_groups(b, lr=0.05, dense_lr=0.01, initial_accumulator=0.0, weight_decay=0.0)
    )
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    _steps(a, [opt_a], 5, seed=2)
    _steps(b, [opt_b], 5, seed=2)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="rule 'rmsprop'"):
        SparseAdagradDenseAdam([{"params": [a.out.bias], "rule": "rmsprop"}])


def test_model_config_chooses_it():
    from pipelines.ctr.models import build_model, load_config
    from pipelines.ctr.models.base import FeatureSpec

    spec = FeatureSpec(
        label="label",
        cat_fields=["a", "b"],
        offsets=[0, 10],
        vocab_sizes=[10, 20],
        num_fields=["n"],
        total_vocab_size=30,
    )
    cfg = load_config("deepfm", None, overrides=["dense_optimizer=adam", "dense_learning_rate=0.002"])
    opt = build_model("deepfm", spec, cfg, base_rate=0.2).make_optimizer()
    assert isinstance(opt, SparseAdagradDenseAdam)
    assert [(g["rule"], g["lr"]) for g in opt.param_groups] == [("adagrad", cfg.learning_rate), ("adam", 0.002)]
    with pytest.raises(Exception, match="dense_optimizer adam goes with optimizer adagrad"):
        load_config("deepfm", None, overrides=["dense_optimizer=adam", "optimizer=sgd"])
    assert load_config("deepfm", None, overrides=["optimizer=sgd", "dense_optimizer=same"]).optimizer == "sgd"


@pytest.mark.parametrize("dim", [1, 16])
def test_touched_rows_equal_coalesce(dim):
    emb = nn.Embedding(1000, dim, sparse=True)
    x = torch.randint(0, 1000, (256, 7), generator=torch.Generator().manual_seed(dim))  # many repeated rows
    (emb(x) * torch.rand(256, 7, dim)).sum().backward()
    g = emb.weight.grad
    assert not g.is_coalesced()
    want = g.coalesce()
    for grad in (g, want):  # uncoalesced, as backward leaves it, and already coalesced
        rows, vals = touched_rows(grad)
        assert torch.equal(rows, want.indices()[0]) and len(rows) == len(x.unique())
        torch.testing.assert_close(vals, want.values())
