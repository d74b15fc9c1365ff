"""The quality matrix: every model at its shipped defaults on data shaped like real logs, beside baselines.

    .venv/bin/python bench/quality.py [--state /tmp/ctrflow-bench-quality] [--write-docs]
        [--cells planted:200000 criteo_like:10000 criteo_like:200000 criteo_like:1000000 avazu_like:200000]
        [--models lr gbdt_lr fm ffm wide_deep deepfm dcn dcn_v2] [--reuse]

One Spark session, one run. For each cell (generator profile, rows a day), in its own state directory:
  1. three days of synthetic logs (generate -> ingest -> features, the profile's pipeline fitted on
     day 1): days 1-2 are the training window (gbdt.train_days / ctr.train_days = 2), day 3 validates;
  2. every model trained by its job with the shipped config (train_gbdt_lr; train_ctr --model m on
     ctr.backend) and scored on day 3: AUC, NE (logloss / entropy of the day's CTR) and calibration
     (mean prediction / CTR), as registered; GBDT+LR's report also gives its own LR baseline and the
     trees alone;
  3. beside them, on the same rows (days 1-2 from stg, the raw columns, not ctrflow's features):
     scikit-learn's LogisticRegression on one-hot features (categorical values seen twice or more, ints
     in 20 quantile buckets + missing; C chosen on the window's newest 10 %) and a single-process LightGBM
     (ints as numbers, categoricals as frequency-ranked codes, early stopping on the same 10 %), and the
     planted model's own score on day 3 (the ceiling, raw.<table>_ceiling).
Prints each cell's table, then the matrix and the issue's goals with their margins; writes everything to
<state>/quality.json; --write-docs puts the table and the AUC plot (docs/quality_auc.png) into
docs/benchmarks.md between its quality markers. A model whose job fails is a cell with its error line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAYS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
DEEP = ["lr", "fm", "ffm", "wide_deep", "deepfm", "dcn", "dcn_v2"]
PIPELINE = {"avazu_like": ("avazu_default", "avazu_logs")}  # profile -> (pipeline, source); else ctr_default
BEGIN, END = "<!-- quality:begin -->", "<!-- quality:end -->"


def _cell_settings(state: str, profile: str, rows: int) -> list[str]:
    pipeline, _ = PIPELINE.get(profile, ("ctr_default", "click_logs"))
    return [
        f"project.state_dir={state}",
        f"synth.profile={profile}",
        f"synth.rows_per_day={rows}",
        "synth.write_tsv=false",
        "spark.log_level=ERROR",
        "spark.profiles.local.conf.spark.driver.memory=8g",
        f"gbdt.pipeline={pipeline}",
        f"ctr.pipeline={pipeline}",
        "ctr.log_every_steps=1000000",
    ]


def _metrics(m: dict) -> dict:
    return {k: float(m[k]) for k in ("auc", "logloss", "ne", "calibration") if k in m}


def _binary(y, p) -> dict:
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    ctr = float(np.mean(y))
    entropy = -(ctr * math.log(ctr) + (1 - ctr) * math.log(1 - ctr))
    ll = float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15)))
    return {
        "auc": float(roc_auc_score(y, p)),
        "logloss": ll,
        "ne": ll / entropy,
        "calibration": float(np.mean(p)) / ctr,
    }


def _raw_frames(spark, settings, source: str, label: str):
    """(train, validation) pandas frames of the raw stg columns: days 1-2 and day 3."""
    from pyspark.sql import functions as F

    stg = spark.table(f"{settings.project.databases.stg}.{source}")
    cols = [c for c in stg.columns if c != "ds"]

    def frame(days):
        return stg.where(F.col("ds").isin([str(d) for d in days])).orderBy("ds").select(*cols).toPandas()

    return frame(DAYS[:2]), frame(DAYS[2:])


def _column_kinds(train, label: str, keep: list[str]) -> tuple[list[str], list[str]]:
    """(numeric columns, categorical columns) of a raw frame: int columns with many values are counts."""
    nums, cats = [], []
    for c in train.columns:
        if c == label or c in keep:
            continue
        is_count = train[c].dtype.kind in "iuf" and train[c].nunique() > 50
        (nums if is_count else cats).append(c)
    return nums, cats


def sklearn_lr(train, val, label: str, nums: list[str], cats: list[str]) -> dict:
    """One-hot LR (values seen twice or more; ints in quantile buckets), C chosen on the newest 10 %."""
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    def onehot(codes, width):
        return sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), width))

    def blocks(fit, frames):
        mats = [[] for _ in frames]
        for c in cats:
            counts = fit[c].astype("string").value_counts()
            kept = counts.index[counts >= 2]
            for k, f in enumerate(frames):
                codes = pd.Categorical(f[c].astype("string"), categories=kept).codes + 1  # 0 = rare or missing
                mats[k].append(onehot(codes, len(kept) + 1))
        for c in nums:
            edges = np.unique(np.nanquantile(fit[c].astype(float), np.linspace(0.05, 0.95, 19)))
            for k, f in enumerate(frames):
                v = f[c].astype(float).to_numpy()
                codes = np.where(np.isnan(v), 0, np.searchsorted(edges, v, side="right") + 1)
                mats[k].append(onehot(codes, len(edges) + 2))
        return [sp.hstack(m).tocsr() for m in mats]

    cut = int(len(train) * 0.9)
    fit, hold = train.iloc[:cut], train.iloc[cut:]
    x_fit, x_hold = blocks(fit, [fit, hold])
    best = None
    for c in (0.01, 0.03, 0.1, 0.3, 1.0):
        m = LogisticRegression(C=c, max_iter=400).fit(x_fit, fit[label])
        ll = _binary(hold[label].to_numpy(), m.predict_proba(x_hold)[:, 1])["logloss"]
        best = min(best or (ll, c), (ll, c))
    x_train, x_val = blocks(train, [train, val])
    model = LogisticRegression(C=best[1], max_iter=400).fit(x_train, train[label])
    return {**_binary(val[label].to_numpy(), model.predict_proba(x_val)[:, 1]), "C": best[1]}


def lightgbm_single(train, val, label: str, nums: list[str], cats: list[str]) -> dict:
    """Single-process LightGBM: counts as numbers, categoricals as frequency-ranked codes (rare = -1)."""
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    def matrix(frames):
        out = [np.empty((len(f), len(nums) + len(cats)), dtype=np.float32) for f in frames]
        for j, c in enumerate(nums):
            for k, f in enumerate(frames):
                out[k][:, j] = f[c].astype(float).to_numpy()
        for j, c in enumerate(cats, start=len(nums)):
            counts = train[c].astype("string").value_counts()
            kept = counts.index[counts >= 5][:5000]
            for k, f in enumerate(frames):
                codes = pd.Categorical(f[c].astype("string"), categories=kept).codes.astype(np.float32)
                out[k][:, j] = np.where(codes < 0, np.nan, codes)
        return out

    cut = int(len(train) * 0.9)
    x_train, x_val = matrix([train, val])
    y = train[label].to_numpy()
    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 63,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.8,
        "verbose": -1,
        "num_threads": 2,
        "seed": 7,
        "max_cat_to_onehot": 8,
        "cat_smooth": 20,
        "cat_l2": 10,
    }
    cat_idx = list(range(len(nums), len(nums) + len(cats)))
    fit = lgb.Dataset(x_train[:cut], y[:cut], categorical_feature=cat_idx)
    hold = lgb.Dataset(x_train[cut:], y[cut:], categorical_feature=cat_idx, reference=fit)
    booster = lgb.train(
        params, fit, num_boost_round=1000, valid_sets=[hold], callbacks=[lgb.early_stopping(50, verbose=False)]
    )
    return {
        **_binary(val[label].to_numpy(), booster.predict(x_val, num_iteration=booster.best_iteration)),
        "trees": booster.best_iteration,
    }


def run_cell(args, profile: str, rows: int) -> dict:
    """One cell in this process (its own Spark session and state directory)."""
    from jobs.harness import run_job
    from pipelines.common import config
    from pipelines.common.spark import get_session
    from pipelines.registry.store import Registry

    state = f"{args.state}/{profile}-{rows}"
    if not args.reuse:
        shutil.rmtree(state, ignore_errors=True)
    sets = _cell_settings(state, profile, rows)
    settings = config.load(overrides=sets).settings
    spark = get_session(settings)
    flags = [a for s in sets for a in ("--set", s)]
    pipeline, source = PIPELINE.get(profile, ("ctr_default", "click_logs"))
    cell = {"profile": profile, "rows_per_day": rows, "models": {}, "baselines": {}, "seconds": {}}

    def job(*argv) -> float:
        t0 = time.perf_counter()
        if run_job(argv[0], [*argv[1:], *flags], spark=spark) != 0:
            raise RuntimeError(f"job {' '.join(argv)} failed (its error line is above)")
        return time.perf_counter() - t0

    val = str(DAYS[2])
    if not args.reuse:
        t0 = time.perf_counter()
        for day in DAYS:
            job("generate", "--ds", str(day))
            job("ingest", "--source", source, "--ds", str(day))
        job("features", "--pipeline", pipeline, "--ds", str(DAYS[0]), "--fit")
        for day in DAYS[1:]:
            job("features", "--pipeline", pipeline, "--ds", str(day))
        cell["seconds"]["data"] = time.perf_counter() - t0
    reg = Registry.from_settings(settings)
    for model in args.models:
        print(f"\n== {profile} {rows:,}/day: {model}", flush=True)
        try:
            if model == "gbdt_lr":
                cell["seconds"][model] = job("train_gbdt_lr", "--ds", val)
                mv = reg.versions(settings.gbdt.model_name)[-1]
                cell["models"]["gbdt_lr"] = _metrics(mv.metrics)
                for base, m in mv.extra["baselines"].items():
                    cell["baselines"][f"{base} (in train_gbdt_lr)"] = _metrics(m)
            else:
                cell["seconds"][model] = job("train_ctr", "--model", model, "--ds", val)
                mv = reg.versions(model)[-1]
                cell["models"][model] = {
                    **_metrics(mv.metrics),
                    "epochs_run": len(mv.extra.get("history", [])),
                    "best_epoch": mv.extra.get("best_epoch"),
                }
        except Exception as e:  # noqa: BLE001 - a failed cell is a result, reported with its reason
            cell["models"][model] = {"error": str(e).splitlines()[0]}
            traceback.print_exc()
    ceiling = spark.table(f"{settings.project.databases.raw}.{settings.synth.table_name}_ceiling")
    cell["ceiling"] = _metrics(ceiling.where(f"ds = '{val}'").first().asDict())
    if not args.skip_baselines:
        label = "click" if profile == "avazu_like" else "label"
        train, valid = _raw_frames(spark, settings, source, label)
        for f in (train, valid):
            if "hour" in f.columns:  # YYMMDDHH: its hour of day recurs, the value itself does not
                f["hour"] = f["hour"] % 100
        nums, cats = _column_kinds(train, label, keep=["id"])
        for name, fn in (("sklearn LR one-hot", sklearn_lr), ("LightGBM single-process", lightgbm_single)):
            t0 = time.perf_counter()
            cell["baselines"][name] = fn(train, valid, label, nums, cats)
            cell["seconds"][name] = time.perf_counter() - t0
        del train, valid
    _print_cell(cell)
    return cell


def merge_cells(earlier: dict, new: dict) -> dict:
    """A cell re-run with --reuse on other models (or without baselines) adds to what it had: the same
    rows, so the earlier models, baselines and timings stay and this run's replace theirs by name."""
    merged = {**earlier, "ceiling": new["ceiling"]}
    for part in ("models", "baselines", "seconds"):
        merged[part] = {**earlier.get(part, {}), **new[part]}
    return merged


def _print_cell(cell: dict) -> None:
    print(f"\n== {cell['profile']} at {cell['rows_per_day']:,} rows/day: trained on 2 days, scored on the 3rd ==")
    print(f"{'model':<34} {'AUC':>7} {'NE':>7} {'calib':>7}")
    rows = [*cell["models"].items(), *cell["baselines"].items(), ("planted ceiling", cell["ceiling"])]
    for name, m in rows:
        if "error" in m:
            print(f"{name:<34} error: {m['error']}")
        else:
            print(f"{name:<34} {m['auc']:7.4f} {m['ne']:7.4f} {m.get('calibration', float('nan')):7.3f}")


def goals(cells: list[dict]) -> list[str]:
    """The issue's goals, each with its margin (positive = met)."""
    out = []
    for c in cells:
        where = f"{c['profile']} {c['rows_per_day']:,}"
        ok = {k: m for k, m in c["models"].items() if "error" not in m}
        sk = c["baselines"].get("sklearn LR one-hot")
        lr_in = c["baselines"].get("lr (in train_gbdt_lr)")
        for k, m in c["models"].items():
            if "error" in m:
                out.append(f"MISS {where} {k}: failed ({m['error']})")
                continue
            if m["ne"] >= 1:
                out.append(f"MISS {where} {k}: NE {m['ne']:.4f} >= 1")
            if not 0.9 <= m["calibration"] <= 1.1:
                out.append(f"MISS {where} {k}: calibration {m['calibration']:.3f} outside [0.9, 1.1]")
            if sk and m["auc"] < sk["auc"] - 0.005:
                out.append(
                    f"MISS {where} {k}: AUC {m['auc']:.4f} < sklearn LR {sk['auc']:.4f} - 0.005 "
                    f"(by {sk['auc'] - 0.005 - m['auc']:.4f})"
                )
        if "gbdt_lr" in ok and lr_in and ok["gbdt_lr"]["auc"] < lr_in["auc"]:
            out.append(f"MISS {where} gbdt_lr: AUC {ok['gbdt_lr']['auc']:.4f} < its LR {lr_in['auc']:.4f}")
        ref = ok.get("lr")
        if ref and c["rows_per_day"] >= 200_000:
            for k in ("deepfm", "dcn_v2"):
                if k in ok and ok[k]["auc"] < ref["auc"] + 0.01:
                    out.append(
                        f"MISS {where} {k}: AUC {ok[k]['auc']:.4f} < LR {ref['auc']:.4f} + 0.01 "
                        f"(by {ref['auc'] + 0.01 - ok[k]['auc']:.4f})"
                    )
        if ok and sk:
            best_name, best = max(ok.items(), key=lambda kv: kv[1]["auc"])
            gap = c["ceiling"]["auc"] - sk["auc"]
            closed = (best["auc"] - sk["auc"]) / gap if gap > 0 else float("nan")
            word = "met " if closed >= 0.5 else "MISS"
            out.append(
                f"{word} {where}: best model {best_name} closes {closed:.0%} of the gap between sklearn LR "
                f"({sk['auc']:.4f}) and the ceiling ({c['ceiling']['auc']:.4f}); goal 50 %"
            )
    return out


def _matrix_markdown(cells: list[dict], models: list[str]) -> str:
    heads = [f"{c['profile']} {c['rows_per_day'] // 1000:,}k" for c in cells]
    lines = ["| model | " + " | ".join(heads) + " |", "|---" * (len(cells) + 1) + "|"]
    names = [
        *models,
        "lr (in train_gbdt_lr)",
        "gbdt (in train_gbdt_lr)",
        "sklearn LR one-hot",
        "LightGBM single-process",
        "planted ceiling",
    ]
    for name in names:
        row = []
        for c in cells:
            m = c["ceiling"] if name == "planted ceiling" else c["models"].get(name) or c["baselines"].get(name)
            if m is None:
                row.append("")
            elif "error" in m:
                row.append("failed")
            else:
                cal = f" / {m['calibration']:.2f}" if "calibration" in m else ""
                row.append(f"{m['auc']:.4f} / {m['ne']:.3f}{cal}")
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _plot(cells: list[dict], models: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 5))
    names = [*models, "sklearn LR one-hot", "LightGBM single-process"]
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs, ys = [], []
        for j, c in enumerate(cells):
            m = c["models"].get(name) or c["baselines"].get(name)
            if m and "auc" in m:
                xs.append(j + i * width)
                ys.append(m["auc"])
        ax.bar(xs, ys, width, label=name)
    for j, c in enumerate(cells):
        ax.hlines(
            c["ceiling"]["auc"],
            j - width,
            j + 0.8,
            colors="black",
            linestyles="dashed",
            label="planted ceiling" if j == 0 else None,
        )
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cells))])
    ax.set_xticklabels([f"{c['profile']}\n{c['rows_per_day']:,}/day" for c in cells])
    lows = [m["auc"] for c in cells for m in [*c["models"].values(), *c["baselines"].values()] if "auc" in m]
    ax.set_ylim(max(0.5, min(lows) - 0.03), max(c["ceiling"]["auc"] for c in cells) + 0.02)
    ax.set_ylabel("AUC on the held-out day")
    ax.set_title("ctrflow models at their defaults vs baselines on the same rows")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: bars reach every corner
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_docs(cells: list[dict], models: list[str], command: str, minutes: float | None) -> None:
    plot = ROOT / "docs" / "quality_auc.png"
    _plot(cells, models, plot)
    body = "\n".join(
        [
            BEGIN,
            "",
            "```bash",
            command,
            "```",
            "",
            f"Run on {dt.date.today()} on the 2-core machine "
            f"({'cells run one per command, gathered with --collect' if minutes is None else f'{minutes:.0f} min'}). "
            "Each cell: AUC / NE / "
            "calibration (mean prediction / CTR) on the held-out day, models trained on the two days before with "
            "the shipped defaults.",
            "",
            _matrix_markdown(cells, models),
            "",
            "![AUC per model per profile](quality_auc.png)",
            "",
            "Goals (MISS lines say by how much):",
            "",
            *[f"- {g}" for g in goals(cells)],
            "",
            END,
        ]
    )
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + body + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n## Quality matrix (issue 14)\n\n" + body + "\n"
    doc.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state", default="/tmp/ctrflow-bench-quality")
    ap.add_argument(
        "--cells",
        nargs="+",
        default=[
            "planted:200000",
            "criteo_like:10000",
            "criteo_like:200000",
            "criteo_like:1000000",
            "avazu_like:200000",
        ],
    )
    ap.add_argument(
        "--models", nargs="+", default=["lr", "gbdt_lr", "fm", "ffm", "wide_deep", "deepfm", "dcn", "dcn_v2"]
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep each cell's data from a previous run; the cell's results join its earlier cell.json",
    )
    ap.add_argument("--skip-baselines", action="store_true", help="no scikit-learn / LightGBM baselines")
    ap.add_argument("--write-docs", action="store_true", help="put the table and plot into docs/benchmarks.md")
    ap.add_argument(
        "--collect",
        action="store_true",
        help="run nothing: gather each cell's cell.json from earlier runs (e.g. one cell per "
        "command, or the 1M cell on fewer models) into the matrix, the goals and the docs",
    )
    ap.add_argument("--one-cell", help=argparse.SUPPRESS)  # internal: run one cell, write its JSON
    args = ap.parse_args()
    if args.one_cell:
        profile, rows = args.one_cell.split(":")
        out = Path(f"{args.state}/{profile}-{rows}/cell.json")
        earlier = json.loads(out.read_text()) if args.reuse and out.exists() else None
        cell = run_cell(args, profile, int(rows))
        out.write_text(json.dumps(merge_cells(earlier, cell) if earlier else cell, indent=2, default=str))
        return
    import subprocess

    t0 = time.perf_counter()
    cells = []
    for spec in args.cells:  # one process per cell: a Spark session's warehouse is fixed when it starts
        profile, rows = spec.split(":")
        out = Path(f"{args.state}/{profile}-{rows}/cell.json")
        if args.collect:
            if not out.exists():
                raise SystemExit(f"bench: --collect: cell {spec} has no {out}: run it first")
            cells.append(json.loads(out.read_text()))
            continue
        argv = [
            sys.executable,
            __file__,
            "--one-cell",
            spec,
            "--state",
            args.state,
            "--models",
            *args.models,
            *(["--reuse"] if args.reuse else []),
            *(["--skip-baselines"] if args.skip_baselines else []),
        ]
        done = subprocess.run(argv, cwd=ROOT)
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"bench: cell {spec} failed (exit {done.returncode}); see its output above")
        cells.append(json.loads(out.read_text()))
        (Path(args.state) / "quality.json").write_text(json.dumps(cells, indent=2, default=str))
    print("\n== the matrix: AUC / NE / calibration ==\n" + _matrix_markdown(cells, args.models))
    print("\n== goals ==\n" + "\n".join(goals(cells)))
    if args.write_docs:
        write_docs(
            cells,
            args.models,
            "   ".join([".venv/bin/python bench/quality.py", *sys.argv[1:]]),
            None if args.collect else (time.perf_counter() - t0) / 60,
        )


if __name__ == "__main__":
    main()
