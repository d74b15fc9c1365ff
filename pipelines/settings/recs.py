"""conf/base/recs.yml: recall -> rank (jobs embed, retrieve, candidate_features, rank, check_recs,
publish_recs; DAG recs_daily).

Pure dataclasses, no heavy imports. Every key is described in docs/recs.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.core.names import Name


@dataclass(frozen=True, kw_only=True)
class RecsQualitySettings:
    """The check between ranking and publishing (job check_recs): it fails below these."""

    min_coverage: float = 0.95  # share of the day's queries with k recommendations
    min_distinct_share: float = 0.0  # distinct items in all top k lists / (queries * k); 0 = not checked
    min_hit_rate_lift: float | None = None  # ranked hit rate / ANN hit rate; null = reported, not checked

    def validate(self) -> None:
        if not 0 <= self.min_coverage <= 1 or not 0 <= self.min_distinct_share <= 1:
            raise ValueError("min_coverage and min_distinct_share must be in [0, 1]")
        if self.min_hit_rate_lift is not None and self.min_hit_rate_lift <= 0:
            raise ValueError("min_hit_rate_lift must be positive or null")


@dataclass(frozen=True, kw_only=True)
class RecsSettings:
    """Which tables, columns and registered models the two stages use."""

    source: Name = "recs_logs"  # stg.<source>: the impressions the user and item rows come from
    pipeline: Name = "recs"  # conf/base/features/<pipeline>.yml: the features the ranker was trained on
    user_id: Name = "user_id"
    item_id: Name = "item_id"
    user_columns: list[Name] = field(default_factory=lambda: ["u_segment", "u_region", "u_activity", "u_age"])
    item_columns: list[Name] = field(default_factory=lambda: ["i_category", "i_brand", "i_price", "i_age_days"])
    lookback_days: int = 30  # a user's / item's latest row is looked for in the days (ds - n, ds]
    embedding_model: Name = "recs_two_tower"  # registry name of the two-tower model (its user tower embeds)
    index: Name = "recs_items"  # registry name of the Faiss index of its item embeddings
    ranker: Name = "recs_ranker"  # registry name of the CTR model that ranks the candidates
    candidates: int = 200  # retrieved per user
    k: int = 10  # recommendations kept per user
    quality: RecsQualitySettings = field(default_factory=RecsQualitySettings)

    def validate(self) -> None:
        if self.k < 1 or self.candidates < self.k:
            raise ValueError(f"need 1 <= k <= candidates, got k={self.k}, candidates={self.candidates}")
        if self.lookback_days < 1:
            raise ValueError(f"lookback_days must be >= 1, got {self.lookback_days}")
        both = set(self.user_columns) & set(self.item_columns)
        if both:
            raise ValueError(f"columns on both sides: {sorted(both)}")
        if self.user_id in self.item_columns or self.item_id in self.user_columns or self.user_id == self.item_id:
            raise ValueError("user_id and item_id must be distinct and not listed as the other side's columns")
