"""conf/base/gbdt.yml: the GBDT + LR trainer (job train_gbdt_lr). Pure dataclasses, no heavy imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pipelines.core.names import Name


@dataclass(frozen=True, kw_only=True)
class TreeSettings:
    """Booster parameters shared by both backends (names as in xgboost's sklearn API)."""

    n_estimators: int = 50
    max_depth: int = 5
    learning_rate: float = 0.2
    min_child_weight: float = 20.0
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    reg_lambda: float = 1.0
    max_bin: int = 256
    num_leaves: int = 31  # lightgbm only (xgboost grows depth-wise to max_depth)
    # small windows get fewer trees: at most lr_rows / (lr_rows_per_leaf x leaves per tree) of them, so
    # the LR has this many of its rows per leaf weight (0 = always n_estimators)
    lr_rows_per_leaf: float = 0.0

    def validate(self) -> None:
        if self.n_estimators < 1 or self.max_depth < 1:
            raise ValueError("n_estimators and max_depth must be >= 1")
        if not 0 < self.learning_rate <= 1:
            raise ValueError("learning_rate must be in (0, 1]")
        if not 0 < self.subsample <= 1 or not 0 < self.colsample_bytree <= 1:
            raise ValueError("subsample and colsample_bytree must be in (0, 1]")
        if self.lr_rows_per_leaf < 0:
            raise ValueError("lr_rows_per_leaf must be >= 0 (0 = off)")


@dataclass(frozen=True, kw_only=True)
class LrSettings:
    """Spark MLlib LogisticRegression on [leaf one-hot (+) raw features]."""

    # a number, or auto: the value of reg_grid with the lowest logloss on a hashed tune_fraction of the
    # LR's own rows (never the validation day), then refitted on all of them (pipelines/gbdt/lr.py)
    reg_param: float | Literal["auto"] = "auto"
    reg_grid: list[float] = field(default_factory=lambda: [1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
    tune_fraction: float = 0.2
    elastic_net_param: float = 0.0  # 0 = L2, 1 = L1
    max_iter: int = 50
    tol: float = 1e-6
    standardization: bool = False  # one-hot inputs: scaling them only distorts the penalty
    # a raw field wider than this is folded to this many slots in LR's input (missing and unknown keep
    # their own); 0 = never fold.
    # Spark's LR ships dense arrays of the whole dimension with each iteration's tasks.
    max_field_dim: int = 16384

    def validate(self) -> None:
        if self.reg_param != "auto" and self.reg_param < 0:
            raise ValueError("reg_param must be >= 0 or auto")
        if not 0 <= self.elastic_net_param <= 1 or self.max_iter < 1:
            raise ValueError("elastic_net_param in [0, 1], max_iter >= 1")
        if self.reg_param == "auto" and (not self.reg_grid or any(r < 0 for r in self.reg_grid)):
            raise ValueError("reg_grid must list regParam values >= 0 for reg_param: auto")
        if not 0 < self.tune_fraction < 1:
            raise ValueError("tune_fraction must be in (0, 1)")
        if self.max_field_dim != 0 and self.max_field_dim < 3:
            raise ValueError("max_field_dim must be 0 (never fold) or >= 3 (missing and unknown keep their slots)")


@dataclass(frozen=True, kw_only=True)
class SplitSettings:
    """Which training rows grow the trees and which fit the LR on their leaves: always disjoint
    (docs/ARCHITECTURE.md), owned by GBDTLeafEncoder (pipelines/gbdt/split.py)."""

    # auto = days when the window has >= 2 days, else fraction; none = the same rows (the overfit, for
    # measuring only)
    policy: Literal["auto", "days", "fraction", "none"] = "auto"
    tree_days: Literal["older", "newest"] = "older"  # days: trees on the older days, LR on the newest
    leaf_fit_fraction: float = 0.5  # fraction: share of the rows (by a hash of the row) the trees get

    def validate(self) -> None:
        if not 0 < self.leaf_fit_fraction < 1:
            raise ValueError("leaf_fit_fraction must be in (0, 1)")


@dataclass(frozen=True, kw_only=True)
class GbdtSettings:
    """What to train on and how; `model_name` is the registry name of the GBDT+LR model."""

    pipeline: Name = "ctr_default"  # feat.<pipeline> and its feature_map.json
    model_name: Name = "gbdt_lr"
    train_days: int = 2  # days before --ds used for training; --ds itself is the validation day
    min_train_days: int = 1  # fewer available days than this is an error
    backend: Literal["xgboost", "lightgbm"] = "xgboost"
    num_workers: int = 2  # xgboost.spark barrier tasks (<= executor cores)
    lightgbm_max_rows: int = 2_000_000  # lightgbm trains in one process on at most this many sampled rows
    tree_fields: list[Name] | None = None  # feature_map fields the trees split on; None = all
    lr_fields: list[Name] | None = None  # raw fields added to the leaves in LR; None = all, [] = leaves only
    group_col: Name | None = None  # a feat column to compute GAUC by (e.g. a user id index)
    split: SplitSettings = field(default_factory=SplitSettings)
    trees: TreeSettings = field(default_factory=TreeSettings)
    lr: LrSettings = field(default_factory=LrSettings)
    seed: int = 7

    def validate(self) -> None:
        if self.train_days < 1 or not 1 <= self.min_train_days <= self.train_days:
            raise ValueError("need train_days >= 1 and 1 <= min_train_days <= train_days")
        if self.num_workers < 1:
            raise ValueError("num_workers must be >= 1")
