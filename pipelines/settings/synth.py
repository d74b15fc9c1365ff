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
PROFILES = ("planted", "criteo_like", "avazu_like", "recs")
# the raw table a profile writes when synth.table is null
DEFAULT_TABLES = {"planted": "click_logs", "criteo_like": "click_logs", "avazu_like": "avazu_logs", "recs": "recs_logs"}
MAX_RECS_IDS = 10_000_000  # ids are u/i + 7 digits


@dataclass(frozen=True, kw_only=True)
class RecsSettings:
    """The `recs` profile's world: users shown items, clicks from a planted model (pipelines.synth.recs)."""

    users: int = 2000
    items: int = 1000
    categories: int = 24  # item categories (~20-50)
    user_skew: float = 0.7  # impressions per user ~ Zipf(rank^-user_skew): the top 1% of users hold many rows
    item_skew: float = 0.4  # popularity of an item within its category ~ rank^-item_skew
    quality_scale: float = 1.4  # std of an item's own log-odds effect (brand + item noise): what a ranker learns
    cross_scale: float = 0.8  # std of the user x item crosses (segment x category, region x brand group)

    def validate(self) -> None:
        if not 1 <= self.users < MAX_RECS_IDS or not 1 <= self.items < MAX_RECS_IDS:
            raise ValueError(f"recs.users and recs.items must be in [1, {MAX_RECS_IDS - 1}]")
        if not 2 <= self.categories <= 1000:
            raise ValueError(f"recs.categories must be in [2, 1000], got {self.categories}")
        if not 0 <= self.user_skew < 3 or not 0 <= self.item_skew < 3:
            raise ValueError("recs.user_skew and recs.item_skew must be in [0, 3)")
        if self.quality_scale < 0 or self.cross_scale < 0:
            raise ValueError("recs.quality_scale and recs.cross_scale must be >= 0")


@dataclass(frozen=True, kw_only=True)
class SynthSettings:
    """How many rows a day, how they look, and how strong the planted signal is.

    `profile` picks the shape: `planted` (Criteo's columns, shaped by the keys below), `criteo_like`
    (Criteo's columns with the marginals of real Criteo logs) or `avazu_like` (Avazu's columns and
    marginals) or `recs` (impressions of items to users with ids, `recs:` below). The keys from
    `cardinality_scale` to `interaction_scale` shape the `planted` profile only."""

    profile: Literal["planted", "criteo_like", "avazu_like", "recs"] = "planted"
    seed: int = 7
    rows_per_day: int = 200_000
    block_rows: int = 50_000  # rows per generation block: the unit of determinism and parallelism
    positive_rate: float | None = (
        None  # mean planted CTR; null = the profile's (planted 0.2, recs 0.08, real logs' own)
    )
    table: Name | None = None  # raw.<table>, by ds; null = the profile's (click_logs; avazu_logs; recs_logs)
    write_tsv: bool = False  # also write the landing text files (Criteo TSV / Avazu CSV) under <state>/landing/
    cardinality_scale: float = 1.0  # multiplies every cardinality (tests use small vocabularies)
    cardinalities: list[int] = field(default_factory=lambda: list(CRITEO_CARDINALITIES))
    cat_missing: list[float] = field(default_factory=lambda: list(CRITEO_CAT_MISSING))
    int_missing: list[float] = field(default_factory=lambda: list(CRITEO_INT_MISSING))
    zipf_exponent: float = 1.15  # popularity skew of categorical values (rank r drawn ~ r^-s)
    main_effect_scale: float = 0.22  # std of a categorical value's planted log-odds effect
    interaction_scale: float = 0.32  # std of the planted cross-feature effects
    recs: RecsSettings = field(default_factory=RecsSettings)  # the `recs` profile only

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
