"""A day's candidate against the champion, for every trainer: `register_candidate`.

The trainer hands over its scored frames of the evaluation day (the first is the candidate, the rest
baselines). The champion as of that day (Registry.champion_as_of), when the name has one, is scored on the
same rows; all of them are evaluated
into <staged>/report (pipelines.eval.report); the candidate is registered with its metrics, the
baselines' and the champion's (`extra.baselines`, `extra.champion_eval`) for the publish gate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipelines.core.timing import stage
from pipelines.eval.report import evaluate_and_report
from pipelines.registry.scoring import score
from pipelines.registry.store import ModelVersion, Registry

SUMMARY = ("auc", "logloss", "ne", "calibration")


@dataclass(frozen=True)
class Registered:
    mv: ModelVersion
    metrics: dict  # evaluated name -> its full metrics (candidate, baselines, "champion vNNNN")

    @property
    def summary(self) -> dict:
        return {k: {m: round(v[m], 5) for m in SUMMARY} for k, v in self.metrics.items()}

    def result(self) -> dict:
        """The job-result keys every trainer returns."""
        mv = self.mv
        return {
            "version": mv.version,
            "uri": mv.uri,
            "report": f"{mv.artifacts}/report/report.md",
            "eval_ds": mv.eval_ds,
            "train_days": mv.extra.get("train_days"),
            "metrics": self.summary,
        }


def register_candidate(
    spark,
    reg: Registry,
    name: str,
    ds: dt.date,
    scored: dict,
    day,
    *,
    staged: str,
    table: str,
    label: str,
    kind: str,
    flavor: str,
    config: dict,
    inputs: dict,
    extra: dict,
    group_col: str | None = None,
    history: dict | None = None,
    context: dict | None = None,
    persist: bool = False,
) -> Registered:
    """Score the champion of `name` on `day`, evaluate it with `scored` (name -> frame of label[, group_col],
    probability) into <staged>/report, register the first of `scored` from `staged`. `persist`: cache
    every frame while it is evaluated (worth it when scoring is dear or GAUC reads it twice)."""
    keep = [label, *([group_col] if group_col else [])]
    candidate, *baselines = scored
    scored = dict(scored)
    champion = reg.champion_as_of(name, ds, missing_ok=True)
    if champion is not None:
        scored[f"champion {champion.version}"] = score(spark, champion, day).select(*keep, "probability")
    if persist:
        from pyspark import StorageLevel

        scored = {k: df.persist(StorageLevel.MEMORY_AND_DISK) for k, df in scored.items()}
    try:
        with stage(f"evaluating {len(scored)} models on {table} ds={ds}"):
            results = evaluate_and_report(
                scored,
                f"{staged}/report",
                f"{name} on {ds}",
                label_col=label,
                group_col=group_col,
                history=history,
                context=context,
                gate=reg.gate,
            )
    finally:
        if persist:
            for df in scored.values():
                df.unpersist()
    extra = {**({"baselines": {k: results[k] for k in baselines}} if baselines else {}), **extra}
    if champion is not None:
        extra["champion_eval"] = {"version": champion.version, "metrics": results[f"champion {champion.version}"]}
    mv = reg.register(
        name,
        staged=staged,
        kind=kind,
        flavor=flavor,
        eval_ds=ds.isoformat(),
        metrics=results[candidate],
        config=config,
        inputs=inputs,
        extra=extra,
    )
    return Registered(mv, results)
