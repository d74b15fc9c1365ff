"""conf/base/synth.yml: shape and size of the synthetic click logs (pure dataclass, no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pipelines.core.names import Name

# Cardinalities of Criteo's 26 categorical fields in the Kaggle display-ads data (C1..C26).
CRITEO_CARDINALITIES = [
    1460,
    583,
    10131227,
    2202608,
    305,
    24,
    12517,
    633,
    3,
    93145,
    5683,
    8351593,
    3194,
    27,
    14992,
    5461306,
    10,
    5652,
    2173,
    4,
    7046547,
    18,
    15,
    286181,
    105,
    142572,
]
# Share of missing values per field, in the spirit of the same data (a few fields are mostly empty).
CRITEO_CAT_MISSING = [
    0.0,
    0.0,
    0.03,
    0.03,
    0.0,
    0.12,
    0.0,
    0.0,
    0.0,
    0.03,
    0.0,
    0.03,
    0.0,
    0.0,
    0.0,
    0.03,
    0.0,
    0.0,
    0.44,
    0.44,
    0.03,
    0.76,
    0.0,
    0.03,
    0.44,
    0.44,
]
CRITEO_INT_MISSING = [0.45, 0.0, 0.21, 0.22, 0.03, 0.22, 0.04, 0.0, 0.04, 0.45, 0.04, 0.77, 0.22]
N_INT = 13
N_CAT = 26
PROFILES = ("planted", "criteo_like", "avazu_like")
# the raw table a profile writes when synth.table is null
DEFAULT_TABLES = {"planted": "click_logs", "criteo_like": "click_logs", "avazu_like": "avazu_logs"}


@dataclass(frozen=True, kw_only=True)
class SynthSettings:
    """How many rows a day, how they look, and how strong the planted signal is.

    `profile` picks the shape: `planted` (Criteo's columns, shaped by the keys below), `criteo_like`
    (Criteo's columns with the marginals of real Criteo logs) or `avazu_like` (Avazu's columns and
    marginals). The keys from `cardinality_scale` down shape the `planted` profile only."""

    profile: Literal["planted", "criteo_like", "avazu_like"] = "planted"
    seed: int = 7
    rows_per_day: int = 200_000
    block_rows: int = 50_000  # rows per generation block: the unit of determinism and parallelism
    positive_rate: float | None = None  # mean planted CTR; null = the profile's (planted 0.2, real logs' own)
    table: Name | None = None  # raw.<table>, by ds; null = the profile's (click_logs; avazu_logs)
    write_tsv: bool = False  # also write the landing text files (Criteo TSV / Avazu CSV) under <state>/landing/
    cardinality_scale: float = 1.0  # multiplies every cardinality (tests use small vocabularies)
    cardinalities: list[int] = field(default_factory=lambda: list(CRITEO_CARDINALITIES))
    cat_missing: list[float] = field(default_factory=lambda: list(CRITEO_CAT_MISSING))
    int_missing: list[float] = field(default_factory=lambda: list(CRITEO_INT_MISSING))
    zipf_exponent: float = 1.15  # popularity skew of categorical values (rank r drawn ~ r^-s)
    main_effect_scale: float = 0.22  # std of a categorical value's planted log-odds effect
    interaction_scale: float = 0.32  # std of the planted cross-feature effects

    def validate(self) -> None:
        if len(self.cardinalities) != N_CAT or len(self.cat_missing) != N_CAT:
            raise ValueError(f"cardinalities and cat_missing need {N_CAT} entries (one per C1..C26)")
        if len(self.int_missing) != N_INT:
            raise ValueError(f"int_missing needs {N_INT} entries (one per I1..I13)")
        if self.positive_rate is not None and not 0.001 <= self.positive_rate <= 0.5:
            raise ValueError(f"positive_rate must be in [0.001, 0.5], got {self.positive_rate}")
        if self.rows_per_day < 1 or not 1 <= self.block_rows < 2**21:
            raise ValueError("rows_per_day must be positive and block_rows in [1, 2097151]")
        if any(not 0 <= m < 1 for m in (*self.cat_missing, *self.int_missing)):
            raise ValueError("missing rates must be in [0, 1)")
        if self.cardinality_scale <= 0 or self.zipf_exponent <= 1.0:
            raise ValueError("cardinality_scale must be > 0 and zipf_exponent > 1")

    @property
    def table_name(self) -> str:
        """The raw table written: raw.<table_name>."""
        return self.table or DEFAULT_TABLES[self.profile]

    def scaled_cardinalities(self) -> list[int]:
        return [max(2, int(round(k * self.cardinality_scale))) for k in self.cardinalities]
