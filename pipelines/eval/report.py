"""An evaluation report for one or more models scored on the same day: JSON + markdown + PNG plots.

    <out_dir>/report.json       metrics per model (AUC, logloss, NE, calibration, GAUC) + reliability tables
                                + flags: per model, the registry gate's guards it fails (NE floor, calibration range)
    <out_dir>/report.md         the same as tables (a `flags` column and section), with the plots inline
    <out_dir>/roc.png           ROC curves of all models
    <out_dir>/calibration.png   reliability curves (mean prediction vs observed CTR per bucket)
    <out_dir>/loss_curves.png   per-epoch training / holdout loss curves, when a history is given

Everything is computed on executors from one score histogram per model (pipelines.eval.metrics);
the driver handles at most 65,536 small rows per model.
"""

from __future__ import annotations

import io
import logging
import math

from pipelines.common import storage
from pipelines.eval.metrics import (
    gauc,
    metrics_from_bins,
    reliability_table,
    roc_from_bins,
    score_bins,
)
from pipelines.settings.registry import GateSettings

log = logging.getLogger("ctrflow")


def evaluate_and_report(
    scored: dict,
    out_dir: str,
    title: str,
    label_col: str = "label",
    prob_col: str = "probability",
    group_col: str | None = None,
    history: dict[str, list[dict]] | None = None,
    context: dict | None = None,
    gate: GateSettings | None = None,
) -> dict:
    """Evaluate each DataFrame of `scored` (model name -> DataFrame with label and probability) and write
    the report under out_dir (a path or URI: pipelines.common.storage). Returns {model: metrics dict}.

    Every model the registry gate's guards would refuse (floors such as NE < 1, the calibration range) is
    flagged in the report and logged. `gate`: the registry's gate settings (`settings.registry.gate`);
    None uses GateSettings' defaults, which are the shipped registry.yml's."""
    results, curves, tables = {}, {}, {}
    for name, df in scored.items():
        bins = score_bins(df, label_col, prob_col)
        m = metrics_from_bins(bins).as_dict()
        if group_col:
            m["gauc"], m["gauc_groups"] = gauc(df, group_col, label_col, prob_col)
        rel = reliability_table(bins)
        m["calibration_error"] = float(
            (rel["rows"] * (rel["mean_prediction"] - rel["observed_ctr"]).abs()).sum() / rel["rows"].sum()
        )  # expected calibration error over the buckets
        results[name], curves[name], tables[name] = m, roc_from_bins(bins), rel
    plots = {
        "roc": _plot_roc(curves, results, out_dir, title),
        "calibration": _plot_calibration(tables, out_dir, title),
    }
    if history:
        plots["loss_curves"] = _plot_history(history, out_dir, title)
    gate = gate or GateSettings()
    flags = {name: [f.describe() for f in gate.guard_failures(m)] for name, m in results.items()}
    for name, reasons in flags.items():
        if reasons:
            log.warning("%s flagged (the registry gate would refuse it): %s", name, "; ".join(reasons))
    doc = {
        "title": title,
        "context": context or {},
        "metrics": results,
        "flags": flags,
        "reliability": {k: v.to_dict(orient="records") for k, v in tables.items()},
        "history": history or {},
        "plots": plots,
    }
    storage.write_json(f"{out_dir}/report.json", doc, default=_json_default)
    storage.write_text(f"{out_dir}/report.md", _markdown(doc, tables))
    return results


def _json_default(o):
    if isinstance(o, float) and math.isnan(o):
        return None
    return o.item() if hasattr(o, "item") else str(o)


def _fmt(v) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def _markdown(doc: dict, tables: dict) -> str:
    cols = ["auc", "logloss", "ne", "calibration", "calibration_error", "ctr", "mean_prediction", "rows"]
    if any("gauc" in m for m in doc["metrics"].values()):
        cols.insert(1, "gauc")
    lines = [f"# {doc['title']}", ""]
    for k, v in doc["context"].items():
        lines.append(f"- **{k}**: {v}")
    lines += [
        "",
        "NE is the logloss divided by the entropy of the observed CTR (lower is better, 1.0 = no "
        "better than predicting the average); calibration is mean prediction / observed CTR.",
        "",
        "| model | " + " | ".join(cols) + " | flags |",
        "|---" * (len(cols) + 2) + "|",
    ]
    flags = doc["flags"]
    for name, m in doc["metrics"].items():
        mark = f"**FLAGGED**: {'; '.join(flags[name])}" if flags[name] else "ok"
        lines.append(f"| {name} | " + " | ".join(_fmt(m.get(c, float("nan"))) for c in cols) + f" | {mark} |")
    lines += [
        "",
        "## Flags",
        "",
        "Models the registry gate's guards refuse (`registry.gate.floors`, `registry.gate.calibration_range`):",
        "",
    ]
    flagged = [name for name in doc["metrics"] if flags[name]]
    lines += [f"- **{name}**: {'; '.join(flags[name])}" for name in flagged] or ["- none: every model passes"]
    lines.append("")
    for key, file in doc["plots"].items():
        lines += [f"![{key}]({file})", ""]
    for name, rel in tables.items():
        lines += [
            f"## Reliability: {name}",
            "",
            "| predicted in | rows | mean prediction | observed CTR | ratio |",
            "|---|---|---|---|---|",
        ]
        for r in rel.itertuples():
            lines.append(
                f"| [{r.lower:.2f}, {r.upper:.2f}) | {r.rows} | {r.mean_prediction:.4f} | "
                f"{r.observed_ctr:.4f} | {_fmt(float(r.ratio))} |"
            )
        lines.append("")
    return "\n".join(lines)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    return plt, fig, ax


def _plot_roc(curves: dict, results: dict, out_dir: str, title: str) -> str:
    plt, fig, ax = _figure()
    for name, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, label=f"{name} (AUC {results[name]['auc']:.4f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC: {title}")
    ax.legend(loc="lower right", fontsize=8)
    return _save(plt, fig, out_dir, "roc.png")


def _plot_calibration(tables: dict, out_dir: str, title: str) -> str:
    plt, fig, ax = _figure()
    top = 0.0
    for name, rel in tables.items():
        ax.plot(rel["mean_prediction"], rel["observed_ctr"], marker="o", markersize=3, label=name)
        top = max(top, float(rel["mean_prediction"].max()), float(rel["observed_ctr"].max()))
    ax.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=1, label="perfectly calibrated")
    ax.set(xlabel="mean predicted CTR (bucket)", ylabel="observed CTR", title=f"Calibration: {title}")
    ax.legend(loc="upper left", fontsize=8)
    return _save(plt, fig, out_dir, "calibration.png")


def _plot_history(history: dict[str, list[dict]], out_dir: str, title: str) -> str:
    plt, fig, ax = _figure()
    for name, epochs in history.items():
        xs = [e["epoch"] for e in epochs]
        for key, style in (("train_loss", "-"), ("holdout_loss", "--"), ("val_loss", ":")):  # val_loss: older runs
            ys = [e.get(key) for e in epochs]
            if any(y is not None for y in ys):
                ax.plot(xs, ys, style, marker="o", markersize=3, label=f"{name} {key}")
    ax.set(xlabel="epoch", ylabel="logloss", title=f"Loss curves: {title}")
    ax.legend(fontsize=8)
    return _save(plt, fig, out_dir, "loss_curves.png")


def _save(plt, fig, out_dir: str, name: str) -> str:
    """Write the figure as <out_dir>/<name> (PNG); its file name for the report."""
    png = io.BytesIO()
    fig.tight_layout()
    fig.savefig(png, format="png")
    plt.close(fig)
    storage.write_bytes(f"{out_dir}/{name}", png.getvalue())
    return name
