"""xgboost.spark vs single-process xgboost.train at the sizes GBDT is for, and where the time goes.

    .venv/bin/python bench/gbdt_trees.py --rows 1000000 10000000 [--state /tmp/ctrflow-bench-trees]

For each size, a synthetic table shaped like `feat.ctr_default`'s tree input (13 numeric columns with
heavy tails and missing values, 45 categorical indices with skewed frequencies, a planted label) is
written once as a Delta partition with Spark (kept between runs). Then, with `gbdt.yml`'s tree
parameters, in one process:
  - spark: the trees through ctrflow's own path (pipelines.gbdt.fit_trees: xgboost.spark, num_workers
    2 x 1 thread, barrier stage, read from the Delta table), wall time;
  - its parts, measured apart: the Delta read of the columns, cast to float32 as fit_booster does, into
    Arrow batches on 2 tasks (what each worker does before building its DMatrix), and the shuffle
    xgboost.spark adds to give each worker one partition (`repartition(2)` of the same columns; a barrier
    stage refuses a coalesce), also timed for the table's doubles (what crossed it before the cast);
  - local: the same rows loaded from the table's Parquet files into one numpy matrix (pyarrow, not
    counted), QuantileDMatrix built, boosting with nthread 2, each timed.
Prints spark / local (DMatrix + boosting) against the goal of 1.3x at 10M rows.
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

DAY = dt.date(2026, 11, 1)
NUMERIC, CATEGORICAL = 13, 45


def make_table(spark, name: str, rows: int) -> list[str]:
    """The synthetic tree input as a Delta partition (written unless it already holds `rows` rows)."""
    from pyspark.sql import functions as F

    from pipelines.common import tables

    num = [f"n{i}" for i in range(NUMERIC)]
    cat = [f"c{i}" for i in range(CATEGORICAL)]
    if tables.table_exists(spark, name) and spark.table(name).count() == rows:
        return num + cat
    df = spark.range(rows, numPartitions=max(4, rows // 250_000))
    cols = []
    for i, c in enumerate(num):  # log-normal counts, 10-40 % missing
        v = F.floor(F.exp(F.randn(seed=i) * 2 + 3))
        cols.append(F.when(F.rand(seed=100 + i) < 0.1 + 0.02 * i, None).otherwise(v).cast("double").alias(c))
    for i, c in enumerate(cat):  # index by a power law: a head value and a long tail
        card = [10, 100, 1000, 10000][i % 4]
        cols.append(F.floor(F.pow(F.rand(seed=200 + i), 3 + i % 3) * card).cast("double").alias(c))
    df = df.select(*cols)
    logit = (
        -1.6
        + 0.4 * F.log1p(F.coalesce(F.col("n0"), F.lit(0.0)))
        - 0.3 * F.log1p(F.coalesce(F.col("n1"), F.lit(0.0)))
        + F.when(F.col("c0") < 2, 0.8).otherwise(-0.2)
        + F.when((F.col("c1") < 5) & (F.col("c2") < 50), 0.9).otherwise(0.0)
        + 0.5 * F.sin(F.col("c3") / 7)
    )
    df = df.withColumn("label", (F.rand(seed=999) < 1 / (1 + F.exp(-logit))).cast("int"))
    tables.write_delta_partition(df, name, DAY)
    return num + cat


def local_params(t, nthread: int, seed: int) -> dict:
    """xgboost.train's parameters for the same trees as gbdt.yml's (single process)."""
    return {
        "objective": "binary:logistic",
        "max_depth": t.max_depth,
        "eta": t.learning_rate,
        "min_child_weight": t.min_child_weight,
        "subsample": t.subsample,
        "lambda": t.reg_lambda,
        "colsample_bytree": t.colsample_bytree,
        "max_bin": t.max_bin,
        "tree_method": "hist",
        "nthread": nthread,
        "seed": seed,
    }


def time_size(spark, settings, rows: int) -> dict:
    import numpy as np
    import pyarrow.dataset as pads
    import xgboost as xgb
    from pyspark.sql import functions as F

    from pipelines.gbdt.fit_trees import fit_booster

    s = settings.gbdt
    name = f"feat.bench_trees_{rows}"
    t0 = time.perf_counter()
    cols = make_table(spark, name, rows)
    made = time.perf_counter() - t0
    train = spark.table(name).where(F.col("ds") == str(DAY)).select("label", *cols)
    out = {"rows": rows, "table_s": round(made, 1)}

    t0 = time.perf_counter()
    fit_booster(train, cols, "label", backend="xgboost", trees=s.trees, num_workers=2, seed=s.seed, lightgbm_max_rows=0)
    out["spark_s"] = time.perf_counter() - t0

    def arrow_batches(it):  # what a worker receives before its DMatrix: the columns as Arrow batches
        import pyarrow as pa

        n = 0
        for b in it:
            n += b.num_rows
        yield pa.RecordBatch.from_pydict({"n": [n]})

    floats = train.select("label", *(F.col(c).cast("float").alias(c) for c in cols))  # what fit_booster hands on
    t0 = time.perf_counter()
    floats.coalesce(2).mapInArrow(arrow_batches, "n long").agg(F.sum("n")).collect()
    out["read_arrow_s"] = time.perf_counter() - t0
    for key, frame in (("shuffle_s", floats), ("shuffle_double_s", train)):
        t0 = time.perf_counter()
        frame.repartition(2).write.format("noop").mode("overwrite").save()
        out[key] = time.perf_counter() - t0

    files = [f.removeprefix("file:") for f in train.inputFiles()]
    t0 = time.perf_counter()
    table = pads.dataset(files, format="parquet").to_table(columns=["label", *cols])
    X = np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float32) for c in cols])
    y = table.column("label").to_numpy(zero_copy_only=False)
    del table
    out["local_load_s"] = time.perf_counter() - t0
    t = s.trees
    t0 = time.perf_counter()
    dm = xgb.QuantileDMatrix(X, y, max_bin=t.max_bin, nthread=2)
    out["local_dmatrix_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    xgb.train(local_params(t, 2, s.seed), dm, t.n_estimators)
    out["local_boost_s"] = time.perf_counter() - t0
    out["ratio"] = out["spark_s"] / (out["local_dmatrix_s"] + out["local_boost_s"])
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    from bench.runner import open_session, synthetic_sets

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--state", default="/tmp/ctrflow-bench-trees")
    args = ap.parse_args()
    sets = [*synthetic_sets(args.state, 1000), "spark.profiles.local.conf.spark.driver.memory=6g"]
    settings, spark = open_session(args.state, sets, reuse=True)
    results = []
    for rows in args.rows:
        r = time_size(spark, settings, rows)
        results.append(r)
        print(json.dumps(r), flush=True)
    head = ("rows", 11), ("spark", 8), ("read", 7), ("shuffle", 8), ("(f64)", 7), ("DMatrix", 8), ("boost", 7)
    print("\n" + " ".join(f"{h:>{w}}" for h, w in head) + f" {'ratio':>6}")
    for r in results:
        print(
            f"{r['rows']:>11,} {r['spark_s']:8.1f} {r['read_arrow_s']:7.1f} {r['shuffle_s']:8.1f} "
            f"{r['shuffle_double_s']:7.1f} "
            f"{r['local_dmatrix_s']:8.1f} {r['local_boost_s']:7.1f} {r['ratio']:5.2f}x"
        )
    print("ratio = xgboost.spark wall / single-process (QuantileDMatrix + boosting, rows in memory); goal <= 1.3x")


if __name__ == "__main__":
    main()
