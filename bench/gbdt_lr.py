"""GBDT+LR vs its baselines on the planted synthetic data, and xgboost.spark vs single-process xgboost.

    .venv/bin/python bench/gbdt_lr.py --rows 1000000 [--state /tmp/ctrflow-bench-gbdt]

One Spark session, one run:
  1. two days of synthetic click logs (generate -> ingest -> features ctr_default, fitted on day 1);
  2. `train_gbdt_lr --ds <day 2>`: the trees and LR trained on day 1, the three models evaluated on
     day 2, printed next to the planted model's own ceiling on day 2 (raw.click_logs_ceiling);
  3. the same trees (same rows, columns, parameters) trained twice more: with xgboost.spark
     (num_workers=2, one thread each, data read from the Delta table) and with single-process
     xgboost.train (nthread=2) on the same rows already in memory as a numpy matrix. The ratio
     spark / single-process is the cost of distribution (goal <= 1.3x).

Quality of the configurations (issue 14: trees and LR on disjoint rows, regParam that follows the data):

    .venv/bin/python bench/gbdt_lr.py --quality --rows 10000 --train-days 2 \
        --variant same="gbdt.split.policy=none gbdt.lr.reg_param=0.001" --variant default=""

generates train-days + 1 days, fits the features on the first, then runs `train_gbdt_lr` on the last day
once per variant (its --set overrides) and prints GBDT+LR beside the job's own LR baseline and the trees
alone on the held-out day, with the split, the regParam chosen and the job's time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gbdt_trees import local_params  # noqa: E402
from bench.runner import job_runner, make_days, open_session, synthetic_sets  # noqa: E402

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per day (two days are made)")
    ap.add_argument("--state", default="/tmp/ctrflow-bench-gbdt")
    ap.add_argument("--reuse", action="store_true", help="keep the state directory's data from a previous run")
    ap.add_argument("--quality", action="store_true", help="compare --variant configurations (see above)")
    ap.add_argument("--train-days", type=int, default=2, help="--quality: days in the training window")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar='NAME="KEY=V KEY=V"',
        help="--quality: a named set of --set overrides (repeatable; empty = the defaults)",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="KEY=V",
        help="an override for every job (e.g. synth.profile=criteo_like)",
    )
    args = ap.parse_args()
    if args.quality:
        return quality(args)

    sets = [
        *synthetic_sets(args.state, args.rows),
        "spark.profiles.local.conf.spark.driver.memory=8g",
        "gbdt.train_days=1",
        *args.sets,
    ]
    settings, spark = open_session(args.state, sets, reuse=args.reuse)
    job = job_runner(spark, sets)
    prep = {} if args.reuse else make_days(job, [D1, D2])
    t_job = job("train_gbdt_lr", "--ds", str(D2))

    from pipelines.registry.store import Registry

    mv = Registry.from_settings(settings).versions("gbdt_lr")[-1]
    report = json.loads(Path(mv.artifacts, "report", "report.json").read_text())
    ceiling = spark.table("raw.click_logs_ceiling").where(f"ds = '{D2}'").first().asDict()

    timing = time_trees(spark, settings)
    print("\n== quality on the held-out day", D2, f"({args.rows:,} rows per day; trained on {D1}) ==")
    print(f"{'model':<16} {'AUC':>8} {'logloss':>9} {'NE':>8} {'calib':>7}")
    for name, m in report["metrics"].items():
        print(f"{name:<16} {m['auc']:8.4f} {m['logloss']:9.4f} {m['ne']:8.4f} {m['calibration']:7.3f}")
    print(f"{'planted ceiling':<16} {ceiling['auc']:8.4f} {ceiling['logloss']:9.4f} {ceiling['ne']:8.4f}")
    print(f"\ntrain_gbdt_lr job (3 models + evaluation + registry): {t_job:.1f} s")
    print(
        f"trees: xgboost.spark {timing['spark']:.1f} s, single-process xgboost {timing['local']:.1f} s "
        f"(+ {timing['collect']:.1f} s to bring the rows to the driver); "
        f"ratio spark / single = {timing['spark'] / timing['local']:.2f}x, "
        f"spark / (collect + single) = {timing['spark'] / (timing['collect'] + timing['local']):.2f}x"
    )
    print(
        json.dumps(
            {
                "rows_per_day": args.rows,
                "prep_s": prep,
                "train_job_s": t_job,
                "trees_s": timing,
                "metrics": {
                    k: {m: v[m] for m in ("auc", "logloss", "ne", "calibration")} for k, v in report["metrics"].items()
                },
                "ceiling": {k: ceiling[k] for k in ("auc", "logloss", "ne")},
            },
            default=str,
        )
    )


def quality(args) -> None:
    from pipelines.registry.store import Registry

    days = [D1 + dt.timedelta(days=i) for i in range(args.train_days + 1)]
    val = days[-1]
    sets = [
        *synthetic_sets(args.state, args.rows),
        "spark.profiles.local.conf.spark.driver.memory=6g",
        f"gbdt.train_days={args.train_days}",
        *args.sets,
    ]
    settings, spark = open_session(args.state, sets, reuse=args.reuse)
    job = job_runner(spark, sets)
    if not args.reuse:
        make_days(job, days)
    reg = Registry.from_settings(settings)
    rows = []
    for variant in args.variant or ["default="]:
        name, _, overrides = variant.partition("=")
        t = job("train_gbdt_lr", "--ds", str(val), extra=overrides.split())
        mv = reg.versions("gbdt_lr")[-1]
        m = json.loads(Path(mv.artifacts, "report", "report.json").read_text())["metrics"]
        x = mv.extra
        rows.append(
            {
                "variant": name,
                "seconds": round(t, 1),
                "split": x.get("split_policy"),
                "tree_rows": x.get("tree_rows"),
                "lr_rows": x.get("lr_rows"),
                "reg_gbdt_lr": x.get("gbdt_lr_lr", {}).get("reg_param"),
                "reg_lr": x.get("lr_lr", {}).get("reg_param"),
                "lr_fit_s": {k: x.get(f"{k}_lr", {}).get("fit_s") for k in ("gbdt_lr", "lr")},
                "tune_s": {k: x.get(f"{k}_lr", {}).get("tune_s") for k in ("gbdt_lr", "lr")},
                **{
                    f"{k}_{q}": round(m[k][q], 4)
                    for k in ("gbdt_lr", "lr", "gbdt")
                    for q in ("auc", "ne", "calibration")
                },
            }
        )
    ceiling = spark.table("raw.click_logs_ceiling").where(f"ds = '{val}'").first()
    print(
        f"\n== {args.rows:,} rows/day, {args.train_days} training days, held-out {val}; "
        f"planted ceiling AUC {ceiling['auc']:.4f} NE {ceiling['ne']:.4f} =="
    )
    print(
        f"{'variant':<14} {'GBDT+LR AUC':>11} {'NE':>7} {'LR AUC':>7} {'NE':>7} {'GBDT AUC':>8} {'NE':>7} "
        f"{'dAUC':>7} {'reg g+l/lr':>13} {'split':>9} {'s':>6}"
    )
    for r in rows:
        print(
            f"{r['variant']:<14} {r['gbdt_lr_auc']:11.4f} {r['gbdt_lr_ne']:7.4f} {r['lr_auc']:7.4f} "
            f"{r['lr_ne']:7.4f} {r['gbdt_auc']:8.4f} {r['gbdt_ne']:7.4f} "
            f"{r['gbdt_lr_auc'] - r['lr_auc']:+7.4f} {r['reg_gbdt_lr']:>6g}/{r['reg_lr']:<6g} "
            f"{r['split'] or '-':>9} {r['seconds']:6.1f}"
        )
    print(json.dumps(rows, default=str))


def time_trees(spark, settings) -> dict:
    """The same trees with xgboost.spark and with single-process xgboost, on the same training rows."""
    import numpy as np
    import xgboost as xgb

    from pipelines.features import flow
    from pipelines.features.trainset import load_feature_map
    from pipelines.gbdt.fit_trees import fit_booster
    from pipelines.gbdt.train import tree_columns

    s = settings.gbdt
    fm = load_feature_map(spark, settings, s.pipeline)
    cols = tree_columns(fm, s)
    train = flow.read_days(spark, flow.feat_table(settings, s.pipeline), [D1], None).select(fm.label, *cols)
    t0 = time.perf_counter()
    fit_booster(
        train,
        cols,
        fm.label,
        backend="xgboost",
        trees=s.trees,
        num_workers=s.num_workers,
        seed=s.seed,
        lightgbm_max_rows=s.lightgbm_max_rows,
    )
    t_spark = time.perf_counter() - t0

    t0 = time.perf_counter()
    table = train.toArrow()
    X = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float32) for c in cols])
    y = table.column(fm.label).to_numpy(zero_copy_only=False)
    t_collect = time.perf_counter() - t0
    t = s.trees
    params = local_params(t, s.num_workers, s.seed)
    t0 = time.perf_counter()
    xgb.train(params, xgb.QuantileDMatrix(X, y, max_bin=t.max_bin), t.n_estimators)
    return {"spark": t_spark, "local": time.perf_counter() - t0, "collect": t_collect}


if __name__ == "__main__":
    main()
