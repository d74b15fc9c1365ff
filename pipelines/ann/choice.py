"""Which Faiss index to build: a factory string from config, or an automatic choice from the number of
vectors, their dimension and a memory budget, with the reason in words (logged and stored).

Rules, in order (n vectors of dimension d, budget B bytes, 8 bytes of id per vector):
- n <= flat_max_vectors: `Flat`. Exact search over a few thousand vectors is fast and needs no training.
- n <= hnsw_max_vectors and vectors + graph (n * (4d + 8M + 8)) fit B: `HNSW{M}`. High recall, no training;
  graphs cannot be merged, so each build shard is one graph.
- vectors fit B (n * (4d + 8) + the centroids): `IVF{nlist},Flat`, nlist about 4 * sqrt(n) (a power of two,
  at most max_nlist, and at least min_points_per_list training points per list).
- otherwise: `IVF{nlist},PQ{m}` with the largest m dividing d that fits (m bytes a vector); with `OPQ{m},`
  in front when m <= d / 4 (a learned rotation recovers part of what strong compression loses).
- not even one byte a vector fits: an error naming the budget and what the data needs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from pipelines.core.errors import ConfigError
from pipelines.settings.ann import AnnSettings, ChoiceSettings

_ID_BYTES = 8
_MB = 1 << 20


@dataclass(frozen=True)
class IndexChoice:
    factory: str
    family: str  # flat | hnsw | ivf_flat | ivf_pq | other
    reason: str
    estimated_bytes: int
    nlist: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def family_of(factory: str) -> str:
    """The index family a factory string builds (what is tuned and whether shards can be merged)."""
    parts = [p.strip() for p in factory.split(",")]
    main = next((p for p in parts if p.startswith(("IVF", "IMI", "HNSW", "Flat", "PQ"))), "")
    if main.startswith("HNSW"):
        return "hnsw"
    if main.startswith(("IVF", "IMI")):
        codes = parts[parts.index(main) + 1] if parts.index(main) + 1 < len(parts) else ""
        if codes.startswith("Flat"):
            return "ivf_flat"
        if codes.startswith("PQ"):
            return "ivf_pq"
        return "other"
    return "flat" if main == "Flat" else "other"


def nlist_for(n: int, rules: ChoiceSettings, train_max: int) -> int:
    """About 4 * sqrt(n) lists, a power of two, bounded by max_nlist and by the training sample."""
    want = 2 ** max(0, round(math.log2(max(1.0, 4 * math.sqrt(n)))))
    trainable = max(1, min(n, train_max) // rules.min_points_per_list)
    return max(1, min(want, rules.max_nlist, 2 ** int(math.log2(trainable))))


def choose_index(n: int, d: int, cfg: AnnSettings) -> IndexChoice:
    """The automatic choice for n vectors of dimension d under cfg.memory_budget_mb."""
    rules, budget = cfg.choice, cfg.memory_budget_mb * _MB
    raw = n * (4 * d + _ID_BYTES)
    mb = f"{cfg.memory_budget_mb} MB"
    if n <= rules.flat_max_vectors:
        return IndexChoice(
            "Flat",
            "flat",
            f"{n} vectors <= choice.flat_max_vectors={rules.flat_max_vectors}: "
            f"exact search, no training ({raw / _MB:.1f} MB)",
            raw,
        )
    graph = n * (4 * d + 8 * rules.hnsw_m + _ID_BYTES)
    if n <= rules.hnsw_max_vectors and graph <= budget:
        return IndexChoice(
            f"HNSW{rules.hnsw_m}",
            "hnsw",
            f"{n} vectors <= choice.hnsw_max_vectors={rules.hnsw_max_vectors} and vectors + graph "
            f"({graph / _MB:.1f} MB) fit memory_budget_mb={mb}: graph search, no training",
            graph,
        )
    nlist = nlist_for(n, rules, cfg.train.max_vectors)
    ivf_flat = raw + nlist * d * 4
    if ivf_flat <= budget:
        return IndexChoice(
            f"IVF{nlist},Flat",
            "ivf_flat",
            f"{n} vectors x {d} dims as floats ({ivf_flat / _MB:.1f} MB) fit memory_budget_mb={mb}; "
            f"too many for {'HNSW' if n > rules.hnsw_max_vectors else 'HNSW with its graph'}: "
            f"inverted lists, nlist={nlist} (about 4*sqrt(n))",
            ivf_flat,
            nlist,
        )
    per_vector = (budget - nlist * d * 4) / n - _ID_BYTES
    sizes = [m for m in range(1, d + 1) if d % m == 0 and m <= per_vector]
    if not sizes:
        need = (n * (1 + _ID_BYTES) + nlist * d * 4) / _MB
        raise ConfigError(
            f"ann.memory_budget_mb={cfg.memory_budget_mb}: {n} vectors of dimension {d} need at "
            f"least {need:.0f} MB even at 1 byte a vector; raise the budget or set ann.factory"
        )
    m = max(sizes)
    est = n * (m + _ID_BYTES) + nlist * d * 4
    why = (
        f"{n} vectors x {d} dims as floats ({ivf_flat / _MB:.0f} MB) exceed memory_budget_mb={mb}: "
        f"product quantization at {m} bytes a vector ({est / _MB:.1f} MB), nlist={nlist}"
    )
    if m <= d // 4:
        return IndexChoice(
            f"OPQ{m},IVF{nlist},PQ{m}",
            "ivf_pq",
            why + f"; OPQ rotation since m={m} <= d/4 (strong compression)",
            est,
            nlist,
        )
    return IndexChoice(f"IVF{nlist},PQ{m}", "ivf_pq", why, est, nlist)


def resolve(n: int, d: int, cfg: AnnSettings, factory: str | None = None) -> IndexChoice:
    """The factory given (argument, then ann.factory) or the automatic choice."""
    given = factory or cfg.factory
    if given:
        nlist = None
        for part in given.split(","):
            if part.startswith("IVF") and part[3:].split("_")[0].isdigit():
                nlist = int(part[3:].split("_")[0])
        source = "--factory" if factory else "ann.factory"
        return IndexChoice(given, family_of(given), f"factory '{given}' from {source}", 0, nlist)
    return choose_index(n, d, cfg)
