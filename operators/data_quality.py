"""DataQualityOperator: fail the run when the day's input is not fit to train or publish on.

Reads, through the job `check_quality` (a short process run by the job hook), the day's last ingest of
the source in the ingest catalog (input / quarantined rows) and the per-feature PSI against the training
window in feat.<pipeline>_stats, and fails (without retrying: the data will not change by itself) when the
quarantined fraction, or the number of features whose PSI is above `max_psi`, is over its threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from operators.hooks.spark_job import check_command
from operators.run_conf import resolve, run_check
from pipelines.ingest.catalog import reasons_text


def quality_problems(
    metrics: dict, *, max_quarantine_fraction: float, max_psi: float, max_drifted_features: int
) -> list[str]:
    """What is wrong with a day, given the probe's metrics (pure: tests feed it by hand)."""
    problems = []
    ingest = metrics.get("ingest")
    if not ingest:
        problems.append(f"no ingest of {metrics.get('source')} for the day in {metrics.get('catalog')}")
    else:
        total = ingest.get("input_rows") or 0
        bad = ingest.get("quarantined_rows") or 0
        fraction = bad / total if total else 1.0
        if not total:
            problems.append(f"ingest run {ingest.get('run_id')} read no rows")
        elif fraction > max_quarantine_fraction:
            reasons = reasons_text(ingest.get("top_reasons"), 3)
            problems.append(
                f"{bad} of {total} rows quarantined ({fraction:.2%} > {max_quarantine_fraction:.2%})"
                + (f": {reasons}" if reasons else "")
            )
    psi = metrics.get("psi")
    if psi is None:
        problems.append(f"no feature statistics for the day in {metrics.get('stats_table')}")
    else:
        drifted = sorted(((f, v) for f, v in psi.items() if v is not None and v > max_psi), key=lambda fv: -fv[1])
        if len(drifted) > max_drifted_features:
            shown = ", ".join(f"{f}={v:.3f}" for f, v in drifted[:5])
            problems.append(
                f"{len(drifted)} feature(s) drifted (PSI > {max_psi:g}, {max_drifted_features} allowed): {shown}"
            )
    return problems


class DataQualityOperator(BaseOperator):
    template_fields: Sequence[str] = ("ds", "env", "overrides")
    ui_color = "#fde8e8"

    def __init__(
        self,
        *,
        source: str,
        pipeline: str,
        ds: str = "{{ ds }}",
        env: str | None = None,
        overrides: Sequence[str] = (),
        max_quarantine_fraction: float = 0.01,
        max_psi: float = 0.25,
        max_drifted_features: int = 0,
        probe_timeout_s: float = 600,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.pipeline = pipeline
        self.ds = ds
        self.env = env
        self.overrides = list(overrides)
        self.max_quarantine_fraction = max_quarantine_fraction
        self.max_psi = max_psi
        self.max_drifted_features = max_drifted_features
        self.probe_timeout_s = probe_timeout_s

    def command(self, context: Any = None) -> list[str]:
        env, overrides = resolve(context, self.env, self.overrides)
        return check_command(
            "quality", self.ds, env=env, overrides=overrides, source=self.source, pipeline=self.pipeline
        )

    def execute(self, context: Any) -> dict:
        metrics = run_check(self.command(context), self.probe_timeout_s)
        ingest = metrics.get("ingest") or {}
        psi = metrics.get("psi") or {}
        self.log.info(
            "ds=%s %s: %s input rows, %s quarantined; %d features, max PSI %s",
            self.ds,
            self.source,
            ingest.get("input_rows"),
            ingest.get("quarantined_rows"),
            len(psi),
            f"{max(v for v in psi.values() if v is not None):.4f}"
            if any(v is not None for v in psi.values())
            else "n/a",
        )
        problems = quality_problems(
            metrics,
            max_quarantine_fraction=self.max_quarantine_fraction,
            max_psi=self.max_psi,
            max_drifted_features=self.max_drifted_features,
        )
        if problems:
            raise AirflowFailException(
                f"data quality check failed for {self.source} ds={self.ds}: " + "; ".join(problems)
            )
        return metrics
