"""conf/base/registry.yml: where models and indices are versioned and how the champion gate decides."""

from __future__ import annotations

from dataclasses import dataclass, field

# metric name -> True when higher is better; the gate refuses any metric not listed here
METRIC_DIRECTIONS = {"auc": True, "gauc": True, "recall_at_k": True,
                     "logloss": False, "ne": False, "calibration_error": False}


@dataclass(frozen=True, kw_only=True)
class GateSettings:
    """A candidate replaces the champion only when it beats it on `metric` by `min_delta` or more."""

    metric: str = "auc"
    min_delta: float = 0.0  # in the metric's own units, in the better direction
    # bars every candidate must pass, the first one too, on each of these metrics it carries: AUC 0.5 and
    # NE 1.0 are what a constant prediction scores, so a diverged model is never published
    floors: dict[str, float] = field(default_factory=lambda: {"auc": 0.5, "ne": 1.0})

    def validate(self) -> None:
        for name in (self.metric, *self.floors):
            if name not in METRIC_DIRECTIONS:
                raise ValueError(f"gate metric '{name}' is not one of {', '.join(sorted(METRIC_DIRECTIONS))}")
        if self.min_delta < 0:
            raise ValueError("min_delta must be >= 0")


@dataclass(frozen=True, kw_only=True)
class RegistrySettings:
    """root: a local path (relative = under the project root) or any URI pyarrow.fs opens (s3://, hdfs://);
    None keeps the registry under the state directory (<state_dir>/models)."""

    root: str | None = None
    gate: GateSettings = field(default_factory=GateSettings)
