"""conf/base/registry.yml: where models and indices are versioned and how the champion gate decides."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# metric name -> True when higher is better; the gate refuses any metric not listed here
METRIC_DIRECTIONS = {
    "auc": True,
    "gauc": True,
    "recall_at_k": True,
    "logloss": False,
    "ne": False,
    "calibration_error": False,
}

CALIBRATION = "calibration"  # mean prediction / observed CTR: two-sided, 1 is calibrated


@dataclass(frozen=True)
class GuardFailure:
    """One guard a model's metrics fail: which metric, its value, the bound and the setting that holds it."""

    metric: str
    value: float
    bound: str  # e.g. "below 1", "within [0.8, 1.25]"
    setting: str  # the config key, for the user to find it

    def describe(self) -> str:
        return f"{self.metric} {self.value:.4g} (needs {self.bound}; {self.setting})"


@dataclass(frozen=True, kw_only=True)
class GateSettings:
    """A candidate replaces the champion only when it beats it on `metric` by `min_delta` or more."""

    metric: str = "auc"
    min_delta: float = 0.0  # in the metric's own units, in the better direction
    # bars every candidate must pass, the first one too, on each of these metrics it carries: AUC 0.5 and
    # NE 1.0 are what a constant prediction scores, so a diverged model is never published
    floors: dict[str, float] = field(default_factory=lambda: {"auc": 0.5, "ne": 1.0})
    # mean prediction / observed CTR must lie in [low, high] on the evaluation day (None: not checked):
    # a model that predicts 0.1 % where the CTR is 22 % can still rank well, and would misprice every bid
    calibration_range: list[float] | None = field(default_factory=lambda: [0.8, 1.25])

    def validate(self) -> None:
        for name in (self.metric, *self.floors):
            if name not in METRIC_DIRECTIONS:
                raise ValueError(f"gate metric '{name}' is not one of {', '.join(sorted(METRIC_DIRECTIONS))}")
        if self.min_delta < 0:
            raise ValueError("min_delta must be >= 0")
        if self.calibration_range is not None:
            r = self.calibration_range
            if len(r) != 2 or not all(math.isfinite(x) for x in r) or not r[0] < 1 < r[1]:
                raise ValueError(
                    f"calibration_range must be [low, high] with finite low < 1 < high "
                    f"(or null to turn it off), got {list(r)}"
                )

    def guard_failures(self, metrics: dict) -> list[GuardFailure]:
        """The floors and the calibration range that these metrics fail; a metric not carried is not
        checked, a NaN one fails (no comparison holds for it)."""
        out = []
        for name, bar in sorted(self.floors.items()):
            value, up = metrics.get(name), METRIC_DIRECTIONS[name]
            if value is not None and not (value > bar if up else value < bar):
                out.append(
                    GuardFailure(name, float(value), f"{'above' if up else 'below'} {bar:g}", "registry.gate.floors")
                )
        value = metrics.get(CALIBRATION)
        if self.calibration_range is not None and value is not None:
            low, high = self.calibration_range
            if not low <= value <= high:
                out.append(
                    GuardFailure(
                        CALIBRATION, float(value), f"within [{low:g}, {high:g}]", "registry.gate.calibration_range"
                    )
                )
        return out


@dataclass(frozen=True, kw_only=True)
class RegistrySettings:
    """root: a local path (relative = under the project root) or any URI pyarrow.fs opens (s3://, hdfs://);
    None keeps the registry under the state directory (<state_dir>/models)."""

    root: str | None = None
    gate: GateSettings = field(default_factory=GateSettings)
