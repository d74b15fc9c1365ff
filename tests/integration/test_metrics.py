"""Distributed binary metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from pipelines.core.errors import DataError
from pipelines.eval.metrics import binary_metrics, entropy


def test_metrics_match_sklearn(spark):
    rng = np.random.default_rng(0)
    p = rng.beta(2, 6, 20_000)
    y = (rng.random(20_000) < p).astype(int)
    df = spark.createDataFrame([(int(a), float(b)) for a, b in zip(y, p, strict=True)], "label int, probability double")
    m = binary_metrics(df)
    assert m.rows == 20_000 and m.positives == int(y.sum())
    assert m.auc == pytest.approx(roc_auc_score(y, p), abs=2e-4)
    assert m.logloss == pytest.approx(log_loss(y, p), rel=1e-9)
    assert m.ne == pytest.approx(log_loss(y, p) / entropy(y.mean()), rel=1e-9)
    assert m.calibration == pytest.approx(p.mean() / y.mean(), rel=1e-9)


def test_bad_inputs_are_named(spark):
    with pytest.raises(DataError, match="no rows"):
        binary_metrics(spark.createDataFrame([], "label int, probability double"))
    with pytest.raises(DataError, match="1 rows have a null probability or a label that is null or not 0/1"):
        binary_metrics(spark.createDataFrame([(1, 0.5), (2, 0.4), (0, 0.1)], "label int, probability double"))


def test_ne_calibration_reliability_and_roc_by_hand(spark):
    from pipelines.eval.metrics import metrics_from_bins, reliability_table, roc_from_bins, score_bins

    rows = [(1, 0.8), (0, 0.8), (1, 0.6), (0, 0.2), (0, 0.2), (0, 0.1)]
    bins = score_bins(spark.createDataFrame(rows, "label int, probability double"))
    m = metrics_from_bins(bins)
    ll = -(math.log(0.8) + math.log(0.2) + math.log(0.6) + 2 * math.log(0.8) + math.log(0.9)) / 6
    ctr = 2 / 6
    assert m.logloss == pytest.approx(ll) and m.ne == pytest.approx(ll / entropy(ctr))
    assert m.calibration == pytest.approx((2.7 / 6) / ctr)
    # pairs (pos, neg): 0.8 vs {0.8 tie, 0.2, 0.2, 0.1} = 3.5; 0.6 vs {0.8 lose, 0.2, 0.2, 0.1} = 3 -> 6.5 / 8
    assert m.auc == pytest.approx(6.5 / 8)
    rel = reliability_table(bins, buckets=5)  # [0, .2) [.2, .4) ... : 0.1 | 0.2 0.2 | 0.6 | 0.8 0.8
    assert rel["rows"].tolist() == [1, 2, 1, 2]
    assert rel["observed_ctr"].tolist() == pytest.approx([0, 0, 1, 0.5])
    assert rel["mean_prediction"].tolist() == pytest.approx([0.1, 0.2, 0.6, 0.8], abs=1e-4)
    fpr, tpr = roc_from_bins(bins)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.trapezoid(tpr, fpr) == pytest.approx(6.5 / 8)
    # the trainers' numpy bins (summed across workers) are the same bins with the same metrics
    from pipelines.eval.metrics import metrics_from_array_bins, score_bins_of_arrays

    arrays = score_bins_of_arrays(np.array([r[1] for r in rows]), np.array([r[0] for r in rows]))
    assert metrics_from_array_bins(arrays).as_dict() == pytest.approx(m.as_dict(), rel=1e-12)


def test_gauc_by_hand(spark):
    from pipelines.eval.metrics import gauc

    rows = [
        ("a", 1, 0.9),
        ("a", 0, 0.5),
        ("a", 1, 0.3),
        ("a", 0, 0.1),  # AUC 3/4, 4 rows
        ("b", 1, 0.4),
        ("b", 0, 0.4),  # a tie: AUC 1/2, 2 rows
        ("c", 1, 0.7),
    ]  # one class only: left out
    df = spark.createDataFrame(rows, "g string, label int, probability double")
    value, groups = gauc(df, "g")
    assert groups == 2 and value == pytest.approx((0.75 * 4 + 0.5 * 2) / 6)


def test_report_flags_the_models_the_gate_guards_refuse(spark, tmp_path):
    """A calibrated model passes; one predicting half the CTR (calibration 0.5) and one worse than the base
    rate (NE >= 1) are flagged in report.md and report.json, with the metric, its value and the bound."""
    import json

    from pipelines.eval.report import evaluate_and_report
    from pipelines.settings.registry import GateSettings

    rng = np.random.default_rng(1)
    p = rng.beta(0.5, 1.5, 5_000)  # a strong signal: halved, it still beats the base rate (NE 0.83)
    y = (rng.random(5_000) < p).astype(int)
    models = {"good": p, "half": p / 2, "inverted": 1 - p}
    scored = {
        name: spark.createDataFrame(pd.DataFrame({"label": y.astype("int32"), "probability": q}))
        for name, q in models.items()
    }
    results = evaluate_and_report(scored, str(tmp_path / "r"), "guards")
    good, half = results["good"]["calibration"], results["half"]["calibration"]
    assert 0.8 < good < 1.25 and half == pytest.approx(good / 2, rel=1e-4) and results["inverted"]["ne"] >= 1
    doc = json.loads((tmp_path / "r" / "report.json").read_text())
    assert doc["flags"]["good"] == []
    assert doc["flags"]["half"] == [
        f"calibration {half:.4g} (needs within [0.8, 1.25]; registry.gate.calibration_range)"
    ]
    assert any(f.startswith("ne ") and "needs below 1" in f for f in doc["flags"]["inverted"])
    md = (tmp_path / "r" / "report.md").read_text()
    assert "| flags |" in md and "## Flags" in md
    rows = {line.split("|")[1].strip(): line for line in md.splitlines() if line.startswith("| ")}
    assert rows["good"].endswith("| ok |") and f"**FLAGGED**: calibration {half:.4g}" in rows["half"]
    assert f"- **half**: calibration {half:.4g}" in md and "- **inverted**: " in md and "- **good**" not in md
    # the registry's configured guards decide: no floors and a range wide enough flag nothing
    evaluate_and_report(
        scored, str(tmp_path / "r2"), "guards", gate=GateSettings(floors={}, calibration_range=[0.4, 4.0])
    )
    assert json.loads((tmp_path / "r2" / "report.json").read_text())["flags"] == {
        "good": [],
        "half": [],
        "inverted": [],
    }
    assert "- none: every model passes" in (tmp_path / "r2" / "report.md").read_text()
