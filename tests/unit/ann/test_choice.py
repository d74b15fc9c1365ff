"""The automatic index choice for several (n, d, budget) cases, and factory strings given in config."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines.ann.choice import choose_index, family_of, nlist_for, resolve
from pipelines.core.errors import ConfigError
from pipelines.settings.ann import AnnSettings


def _cfg(budget_mb: int, **kw) -> AnnSettings:
    return dataclasses.replace(AnnSettings(), memory_budget_mb=budget_mb, **kw)


@pytest.mark.parametrize(
    ("n", "d", "budget_mb", "factory"),
    [
        (5_000, 64, 1024, "Flat"),  # small: exact
        (10_000, 768, 64, "Flat"),  # the flat bound is inclusive
        (50_000, 64, 1024, "HNSW32"),  # medium, graph fits
        (50_000, 128, 30, "IVF1024,Flat"),  # medium, graph does not fit (38.8 MB), floats do
        (1_000_000, 64, 4096, "IVF2048,Flat"),  # large, floats fit; nlist bounded by the sample
        (100_000_000, 128, 8192, "IVF2048,PQ64"),  # floats do not fit: 64 bytes a vector
        (1_000_000_000, 128, 16384, "OPQ8,IVF2048,PQ8"),  # 8 bytes a vector: strong compression, OPQ
    ],
)
def test_automatic_choice(n, d, budget_mb, factory):
    choice = choose_index(n, d, _cfg(budget_mb))
    assert choice.factory == factory
    assert choice.family == family_of(factory)
    assert str(n) in choice.reason and "memory_budget_mb" in choice.reason or choice.family == "flat"
    assert choice.estimated_bytes <= budget_mb << 20


def test_nlist_about_four_sqrt_n_power_of_two_bounded_by_training_sample():
    rules = AnnSettings().choice
    assert nlist_for(65_536, rules, 1_000_000) == 1024  # 4 * 256
    assert nlist_for(1_000_000, rules, 1_000_000) == 4096  # 4000 -> 4096
    assert nlist_for(1_000_000, rules, 131_072) == 2048  # at least 39 training points a list: 3360 -> 2048
    assert nlist_for(10**12, rules, 10**12) == rules.max_nlist


def test_budget_too_small_names_the_key_and_the_need():
    with pytest.raises(ConfigError, match=r"ann.memory_budget_mb=1: 10000000 vectors of dimension 64 need"):
        choose_index(10_000_000, 64, _cfg(1))


def test_factory_from_argument_then_config_wins_over_the_automatic_choice():
    cfg = _cfg(4096, factory="IVF64,PQ8")
    assert resolve(5_000, 64, cfg).factory == "IVF64,PQ8"
    assert resolve(5_000, 64, cfg).nlist == 64
    assert "ann.factory" in resolve(5_000, 64, cfg).reason
    given = resolve(5_000, 64, cfg, factory="HNSW16")
    assert (given.factory, given.family) == ("HNSW16", "hnsw") and "--factory" in given.reason
    assert resolve(5_000, 64, _cfg(4096)).factory == "Flat"


def test_family_of_factory_strings():
    assert [
        family_of(f)
        for f in ("Flat", "HNSW32", "IVF16,Flat", "OPQ8,IVF16,PQ8", "IVF16_HNSW32,PQ8x4fs", "PCA32,Flat", "LSH")
    ] == ["flat", "hnsw", "ivf_flat", "ivf_pq", "ivf_pq", "flat", "other"]
