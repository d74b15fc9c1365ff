"""Feature pipeline fit + transform: ctrflow's stages vs the closest stock MLlib pipeline, same data.

    .venv/bin/python bench/features.py --rows 10000000 [--state /tmp/ctrflow-bench-features]

Generates a day of synthetic click logs (13 int + 26 string columns, Criteo's cardinalities) once as
Parquet, then runs each pipeline in its own fresh Spark driver (so that one's heap does not inflate
the other's peak), one after the other:
  stock    Imputer(median) + QuantileDiscretizer(20) + StringIndexer(keep) + OneHotEncoder + VectorAssembler
  ctrflow  impute(median) + bucketize(20) + index(min_count 5, top_k 200k) -> plain int/double columns
Each reports fit seconds, transform seconds (transform + write Parquet), the driver's peak memory
(RSS of the Python driver + its JVM, polled every 0.25 s, and the JVM's peak heap used) and how many
vocabulary entries the fitted model holds on the driver. Prints the ratios stock / ctrflow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAY = dt.date(2026, 11, 1)
INTS = [f"i{i}" for i in range(1, 14)]
CATS = [f"c{i}" for i in range(1, 27)]


def _session(state: str, driver_memory: str):
    from pipelines.common import config
    from pipelines.common.spark import get_session

    settings = config.load(
        overrides=[
            f"project.state_dir={state}",
            "spark.log_level=ERROR",
            f"spark.profiles.local.conf.spark.driver.memory={driver_memory}",
        ]
    ).settings
    return get_session(settings), settings


class PeakMemory:
    """Polls the RSS of this process + its children (the JVM) and the JVM's heap used."""

    def __init__(self, spark, every: float = 0.25) -> None:
        import psutil

        self._proc, self._jvm, self._every = psutil.Process(), spark.sparkContext._jvm, every
        self.rss = self.heap = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        mx = self._jvm.java.lang.management.ManagementFactory.getMemoryMXBean()
        while not self._stop.is_set():
            try:
                rss = self._proc.memory_info().rss + sum(c.memory_info().rss for c in self._proc.children(True))
                self.rss = max(self.rss, rss)
                self.heap = max(self.heap, mx.getHeapMemoryUsage().getUsed())
            except Exception:  # a child that just exited, or the gateway busy at shutdown
                pass
            self._stop.wait(self._every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def stock_pipeline():
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import Imputer, OneHotEncoder, QuantileDiscretizer, StringIndexer, VectorAssembler

    num = [f"{c}_num" for c in INTS]
    bkt, idx = [f"{c}_bkt" for c in INTS], [f"{c}_idx" for c in CATS]
    ohe = [f"{c}_ohe" for c in bkt + idx]
    return Pipeline(
        stages=[
            Imputer(inputCols=INTS, outputCols=num, strategy="median"),
            QuantileDiscretizer(inputCols=INTS, outputCols=bkt, numBuckets=20, handleInvalid="keep"),
            StringIndexer(inputCols=CATS, outputCols=idx, handleInvalid="keep"),
            OneHotEncoder(inputCols=bkt + idx, outputCols=ohe, handleInvalid="keep"),
            VectorAssembler(inputCols=num + ohe, outputCol="features", handleInvalid="keep"),
        ]
    ), ["label", "features"]


def ctrflow_pipeline():
    from pyspark.ml import Pipeline

    from pipelines.features.stages.bucketize import QuantileBucketizer
    from pipelines.features.stages.impute import NumericImputer
    from pipelines.features.stages.index import FrequencyIndexer

    num = [f"{c}_num" for c in INTS]
    bkt, idx = [f"{c}_bkt" for c in INTS], [f"{c}_idx" for c in CATS]
    return Pipeline(
        stages=[
            NumericImputer(inputCols=INTS, outputCols=num, strategy="median"),
            QuantileBucketizer(inputCols=INTS, outputCols=bkt, numBuckets=20),
            FrequencyIndexer(inputCols=CATS, outputCols=idx, minCount=5, topK=200_000),
        ]
    ), ["label", *num, *bkt, *idx]


def held_vocabulary(model) -> int:
    """Vocabulary entries the fitted model keeps on the driver."""
    total = 0
    for stage in model.stages:
        if hasattr(stage, "labelsArray"):
            total += sum(len(labels) for labels in stage.labelsArray)
        elif hasattr(stage, "getFrames") and "vocab" in stage.getFrames():
            total += len(stage.getFrames()["vocab"])
    return total


def run_one(which: str, data: str, state: str, driver_memory: str) -> dict:
    spark, _ = _session(state, driver_memory)
    df = spark.read.parquet(data)
    pipeline, keep = stock_pipeline() if which == "stock" else ctrflow_pipeline()
    out = f"{state}/out-{which}"
    with PeakMemory(spark) as mem:
        t0 = time.perf_counter()
        model = pipeline.fit(df)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.transform(df).select(*keep).write.mode("overwrite").parquet(out)
        transform_s = time.perf_counter() - t0
    return {
        "pipeline": which,
        "fit_s": round(fit_s, 1),
        "transform_s": round(transform_s, 1),
        "total_s": round(fit_s + transform_s, 1),
        "peak_rss_gb": round(mem.rss / 2**30, 2),
        "peak_heap_gb": round(mem.heap / 2**30, 2),
        "vocabulary_on_driver": held_vocabulary(model),
        "rows": df.count(),
    }


def generate_data(rows: int, scale: float, state: str) -> str:
    data = f"{state}/data-{rows}-{scale}"
    if os.path.isdir(data):
        return data
    from pipelines.common import config
    from pipelines.synth.generator import generate

    spark, _ = _session(state, "4g")
    s = config.load(overrides=[f"synth.rows_per_day={rows}", f"synth.cardinality_scale={scale}"]).settings.synth
    df = generate(spark, s, DAY)
    t0 = time.perf_counter()
    df.toDF(*[c.lower() for c in df.columns]).write.mode("overwrite").parquet(data)
    print(f"generated {rows:,} rows in {time.perf_counter() - t0:.0f} s -> {data}", flush=True)
    spark.stop()
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--cardinality-scale", type=float, default=1.0)
    ap.add_argument("--state", default="/tmp/ctrflow-bench-features")
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--only", nargs="+", choices=["stock", "ctrflow"], help="run only these pipelines")
    ap.add_argument("--one", choices=["stock", "ctrflow"], help=argparse.SUPPRESS)  # child process
    ap.add_argument("--data", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print("RESULT " + json.dumps(run_one(a.one, a.data, f"{a.state}/{a.one}", a.driver_memory)), flush=True)
        return
    data = generate_data(a.rows, a.cardinality_scale, a.state)
    results = {}
    for which in a.only or ("stock", "ctrflow"):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            which,
            "--data",
            data,
            "--state",
            a.state,
            "--driver-memory",
            a.driver_memory,
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            log = f"{a.state}/{which}.stderr.log"
            Path(log).write_text(proc.stderr or "")
            causes = [
                ln.strip()
                for ln in (proc.stderr or "").splitlines()
                if re.search(r"(Exception|Error)\b", ln) and not ln.strip().startswith("at ")
            ]
            results[which] = {
                "pipeline": which,
                "failed": True,
                "after_s": round(time.perf_counter() - t0),
                "error": " | ".join(dict.fromkeys(causes[-3:])) or "see " + log,
                "log": log,
            }
        else:
            results[which] = json.loads(lines[-1][len("RESULT ") :])
        print(json.dumps(results[which]), flush=True)
    s, c = results.get("stock", {"failed": True}), results.get("ctrflow", {"failed": True})
    if not s.get("failed") and not c.get("failed"):
        print(
            f"rows {c['rows']:,}: fit {s['fit_s'] / c['fit_s']:.2f}x, "
            f"transform {s['transform_s'] / c['transform_s']:.2f}x, "
            f"fit+transform {s['total_s'] / c['total_s']:.2f}x faster; peak driver RSS "
            f"{s['peak_rss_gb']} GB vs {c['peak_rss_gb']} GB, heap {s['peak_heap_gb']} vs {c['peak_heap_gb']} GB; "
            f"vocabulary on the driver {s['vocabulary_on_driver']:,} vs {c['vocabulary_on_driver']:,}"
        )


if __name__ == "__main__":
    main()
