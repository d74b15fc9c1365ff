"""The registry gate: would a candidate version replace the champion? Pure: it judges the two records it is
given (the registry reads them, publishes and logs the decision).

Refused: a candidate without the gate's metric, one that fails the guards (floors, calibration range), the
champion itself, one evaluated on an earlier day than the champion (a backfill of an old day registers its
model but never replaces a newer day's champion), or one that cannot be compared on the candidate's
evaluation day. Accepted: the first
candidate of a model, or one that beats the champion on that day by more than min_delta.
"""

from __future__ import annotations

from pipelines.core.errors import ConfigError
from pipelines.registry.records import GateDecision, ModelVersion, now
from pipelines.settings.registry import METRIC_DIRECTIONS, GateSettings


def check_metric(metric: str) -> str:
    if metric not in METRIC_DIRECTIONS:
        raise ConfigError(f"gate metric '{metric}' is not one of {', '.join(sorted(METRIC_DIRECTIONS))}")
    return metric


def judge(
    settings: GateSettings,
    cand: ModelVersion,
    champ: ModelVersion | None,
    metric: str | None = None,
    min_delta: float | None = None,
) -> GateDecision:
    """The gate's decision on `cand` against `champ` (None: the model has no champion yet)."""
    name = cand.name
    metric = check_metric(metric or settings.metric)
    min_delta = settings.min_delta if min_delta is None else min_delta

    def decide(accepted, reason, cv=None, hv=None):
        return GateDecision(
            name=name,
            candidate=cand.version,
            champion=champ.version if champ else None,
            accepted=accepted,
            reason=reason,
            metric=metric,
            candidate_value=cv,
            champion_value=hv,
            decided_at=now(),
            ds=cand.eval_ds,
        )

    if cand.extra.get("not_offered"):  # its builder registered it to look at, not to promote
        return decide(False, f"{cand.version} was not offered to the gate: {cand.extra['not_offered']}")
    cv = cand.metrics.get(metric)
    if cv is None:
        return decide(
            False,
            f"candidate {cand.version} has no '{metric}' metric (it has {', '.join(sorted(cand.metrics)) or 'none'})",
        )
    failed = settings.guard_failures(cand.metrics)
    if failed:
        return decide(False, guard_reason(name, cand, failed), cv)
    if champ is None:
        return decide(True, f"no champion yet: {cand.version} becomes the first ({metric}={cv:.6g})", cv)
    if champ.version == cand.version:
        return decide(False, f"{cand.version} is already the champion", cv, cv)
    if cand.eval_ds and champ.eval_ds and cand.eval_ds < champ.eval_ds:
        return decide(
            False,
            f"candidate {cand.version} was evaluated on {cand.eval_ds}, before champion {champ.version} "
            f"({champ.eval_ds}): a model of an older day never replaces the champion",
            cv,
        )
    # the champion's score on the candidate's evaluation day: measured by the training job
    # (extra.champion_eval) or, when both were evaluated on the same day, the champion's own metrics
    same_day = cand.extra.get("champion_eval") or {}
    if same_day.get("version") == champ.version and metric in same_day.get("metrics", {}):
        hv = same_day["metrics"][metric]
    elif champ.eval_ds == cand.eval_ds and metric in champ.metrics:
        hv = champ.metrics[metric]
    else:
        return decide(
            False,
            f"cannot compare: champion {champ.version} was evaluated on {champ.eval_ds} and "
            f"candidate {cand.version} on {cand.eval_ds}, and the candidate carries no "
            f"evaluation of the champion on that day",
            cv,
        )
    higher = METRIC_DIRECTIONS[metric]
    gain = (cv - hv) if higher else (hv - cv)
    word = "higher" if higher else "lower"
    if gain > min_delta or (min_delta == 0 and gain > 0):
        return decide(
            True,
            f"{cand.version} beats champion {champ.version} on {metric} on {cand.eval_ds}: "
            f"{cv:.6g} vs {hv:.6g} ({word} is better, margin {gain:.3g} > {min_delta:g})",
            cv,
            hv,
        )
    return decide(
        False,
        f"{cand.version} does not beat champion {champ.version} on {metric} on "
        f"{cand.eval_ds}: {cv:.6g} vs {hv:.6g} ({word} is better, needs a margin above "
        f"{min_delta:g}, got {gain:.3g})",
        cv,
        hv,
    )


def guard_reason(name: str, cand: ModelVersion, failed: list) -> str:
    """Why the guards refuse a candidate: model, version, day, and each metric with its value and bound."""
    what = {"registry.gate.floors": "the floor on", "registry.gate.calibration_range": "the calibration range on"}
    parts = [
        f"{what.get(f.setting, 'the guard on')} {f.metric}: {f.value:.6g}, needs {f.bound} ({f.setting})"
        for f in failed
    ]
    why = ""
    if any(f.setting == "registry.gate.floors" for f in failed):
        why = "; a constant prediction scores auc 0.5, ne 1"
    if any(f.metric == "calibration" for f in failed):
        why += "; calibration is mean prediction / observed CTR"
    return f"{name} {cand.version} (evaluated on {cand.eval_ds}) fails {'; and '.join(parts)}{why}"
