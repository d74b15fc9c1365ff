"""Marginal shapes of real click-log columns, and samplers that reproduce them (numpy, whole columns).

- `IntShape`: a heavy-tailed count column given by its minimum, quantiles and maximum (as measured on
  real logs); values are drawn through a quantile function interpolated in log1p space between the
  knots, so the knots come back (up to flooring) whatever the day's size.
- `CatShape`: a categorical column given by the share of its top value and, in a 10k-row sample, its
  distinct values and singletons. Values are the head (rank 0) with probability `head`, else a rank of
  a bounded power law over K tail values. `fit_tail` finds (K, s) so that the expected distinct and
  singleton counts of a 10k-row sample match the targets (exact sums over ranks, binned far down the
  tail), so the measured shape is the single source of truth and the parameters derive from it.
- `MissingGroups`: columns that are missing together (one draw per group and row), as in real logs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

SAMPLE_ROWS = 10_000  # the sample size the real-data shape tables were measured on


@dataclass(frozen=True)
class IntShape:
    """A count column: min, p50, p90, p99, max of the non-missing values."""

    name: str
    missing: float
    lo: int
    p50: float
    p90: float
    p99: float
    hi: int

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Integer values at probabilities u (vectorised): interpolation in log1p(x - lo) space."""
        knots_u = np.array([0.0, 0.5, 0.9, 0.99, 1.0])
        knots_x = np.log1p(np.array([self.lo, self.p50, self.p90, self.p99, self.hi], dtype=np.float64) - self.lo)
        t = np.interp(u, knots_u, np.maximum.accumulate(knots_x))
        return self.lo + np.floor(np.expm1(t))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.quantile(rng.random(n))


def power_cdf(x: np.ndarray, k: int, s, q: float = 0.0) -> np.ndarray:
    """CDF on [1, k + 1) of the density proportional to (x + q)^-s (Zipf-Mandelbrot when q > 0).
    `s` may be an array (one row of the result per exponent)."""
    s = np.asarray(s, dtype=np.float64)[..., None] if np.ndim(s) else float(s)
    lo, hi = 1.0 + q, k + 1.0 + q
    a = 1.0 - s
    near_one = np.abs(a) < 1e-9
    a_safe = np.where(near_one, 1.0, a)
    power = (np.power(x + q, a_safe) - lo**a_safe) / (hi**a_safe - lo**a_safe)
    return np.where(near_one, np.log((x + q) / lo) / math.log(hi / lo), power)


def power_ranks(u: np.ndarray, k: int, s: float, q: float = 0.0) -> np.ndarray:
    """Ranks in [0, k) with P(r) = CDF(r + 2) - CDF(r + 1): the inverse CDF of `_power_cdf`."""
    lo, hi = 1.0 + q, k + 1.0 + q
    if abs(s - 1.0) < 1e-9:
        x = lo * np.exp(u * math.log(hi / lo))
    else:
        a = 1.0 - s
        x = np.power(lo**a + u * (hi**a - lo**a), 1.0 / a)
    return np.clip(np.floor(x - q).astype(np.int64) - 1, 0, k - 1)


@lru_cache(maxsize=4096)
def _rank_bins(k: int, exact: int = 256, bins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(left edges, sizes) of rank groups: the first `exact` ranks alone, then log-spaced groups."""
    first = np.arange(min(k, exact), dtype=np.float64)
    if k <= exact:
        return first, np.ones_like(first)
    edges = np.unique(np.geomspace(exact, k, bins).astype(np.int64))
    edges = np.concatenate([edges, [k]]) if edges[-1] != k else edges
    lefts = np.concatenate([first, edges[:-1].astype(np.float64)])
    sizes = np.concatenate([np.ones(len(first)), np.diff(edges).astype(np.float64)])
    return lefts, sizes


def expected_counts(head: float, k: int, s, n: float, q: float = 0.0):
    """Expected (distinct values, singletons) among n draws of the head (probability `head`) or a tail
    rank, and the share of the most frequent tail rank; arrays of them when `s` is an array."""
    lefts, sizes = _rank_bins(k)
    mass = power_cdf(lefts + sizes + 1.0, k, s, q) - power_cdf(lefts + 1.0, k, s, q)
    p = np.clip((1.0 - head) * mass / sizes, 0.0, 1 - 1e-12)  # each rank of a group alike
    log_miss = np.log1p(-p)
    seen = -np.expm1(n * log_miss)
    once = n * p * np.exp((n - 1) * log_miss)
    distinct = (sizes * seen).sum(axis=-1) + (1.0 - (1.0 - head) ** n if head > 0 else 0.0)
    singles = (sizes * once).sum(axis=-1) + (n * head * (1.0 - head) ** (n - 1) if head > 0 else 0.0)
    return distinct, singles, p[..., 0]


_S_COARSE = np.linspace(0.0, 16.0, 33)


def _fit_s(head: float, k: int, distinct: int, n: float, q: float) -> float | None:
    """The exponent whose expected distinct count is `distinct` (it falls as s grows): bracketed on a
    coarse grid, then bisected; None when K values show too few even uniform or too many even steep."""
    coarse = expected_counts(head, k, _S_COARSE, n, q)[0]
    if not coarse[-1] <= distinct <= coarse[0]:
        return None
    i = int(np.searchsorted(-coarse, -distinct))  # first grid point at or below the target
    lo_s, hi_s = _S_COARSE[max(i - 1, 0)], _S_COARSE[i]
    for _ in range(14):
        mid = (lo_s + hi_s) / 2
        lo_s, hi_s = (mid, hi_s) if expected_counts(head, k, mid, n, q)[0] > distinct else (lo_s, mid)
    return float(lo_s + hi_s) / 2


@lru_cache(maxsize=256)
def fit_tail(
    head: float, distinct: int, singletons: int, top: float, n: float, max_k: int = 50_000_000
) -> tuple[int, float, float]:
    """(K, s, q) of the tail such that n draws show about `distinct` values, `singletons` of them once,
    and no tail value more often than the top share. For each K of a log grid and offset q (tried only
    while the fit is poor), s is solved so that the expected distinct count matches; the (K, q) with
    the closest singletons and top share (log ratios) wins."""
    if distinct - 1 <= 1:
        return 1, 1.5, 0.0
    best = None
    for q in (0.0, 3.0, 10.0, 30.0, 100.0, 300.0):
        for k in np.unique(np.geomspace(distinct - 1, max_k, 24).astype(np.int64)):
            s = _fit_s(head, int(k), distinct, n, q)
            if s is None:
                continue
            _, single, first = expected_counts(head, int(k), s, n, q)
            err = abs(math.log((single + 1.0) / (singletons + 1.0))) + 3 * max(0.0, math.log(first / max(top, 1e-9)))
            if best is None or err < best[0] - 1e-9:
                best = (err, int(k), s, q)
        if best is not None and best[0] < 0.05:
            break
    return (distinct - 1, 0.0, 0.0) if best is None else best[1:]


@dataclass(frozen=True)
class CatShape:
    """A categorical column: missing rate; top value share, distinct values and singletons in 10k rows."""

    name: str
    missing: float
    distinct: int
    singletons: int
    top: float

    def tail(self) -> tuple[int, float, float]:
        """(K, s, q): the fitted tail (the head is rank 0; tail ranks are 1..K)."""
        n = SAMPLE_ROWS * (1.0 - self.missing)
        return fit_tail(self.top, self.distinct, self.singletons, self.top, round(n, 3))

    def sample_ranks(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Ranks: 0 is the head value, 1..K the tail."""
        k, s, q = self.tail()
        head = rng.random(n) < self.top
        ranks = power_ranks(rng.random(n), k, s, q) + 1
        return np.where(head, 0, ranks)


@dataclass(frozen=True)
class MissingGroups:
    """Columns missing together: {group name: (rate, [columns])}; columns in no group are independent."""

    groups: dict[str, tuple[float, list[str]]] = field(default_factory=dict)

    def masks(self, rng: np.random.Generator, n: int, rates: dict[str, float]) -> dict[str, np.ndarray]:
        """A missing mask per column of `rates`: grouped columns share one draw per row."""
        out: dict[str, np.ndarray] = {}
        for rate, cols in self.groups.values():
            m = rng.random(n) < rate
            out.update({c: m for c in cols})
        for col, rate in rates.items():
            if col not in out:
                out[col] = rng.random(n) < rate if rate > 0 else np.zeros(n, dtype=bool)
        return out
