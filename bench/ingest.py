"""Ingest throughput: ctrflow's ingest vs a plain `spark.read.csv(...).write.parquet(...)` of the same files.

    .venv/bin/python bench/ingest.py --rows 5000000 [--rounds 2] [--state /tmp/ctrflow-bench-ingest]

Generates a day of Criteo-format TSV with the generate job (reused when already there), appends a file
of broken lines (0.1 % of the rows: wrong field counts, unparsable numbers, out-of-range labels), then
times, in the same Spark session and alternating, (a) the plain conversion with an explicit schema and
(b) `ingest --source criteo_tsv` (contract checks, quarantine, Delta commit, count check, catalog
statistics). Prints each run and the throughput ratio ctrflow / plain (best run of each).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import time

from pipelines.common import config, tables
from pipelines.common.spark import get_session
from pipelines.synth.generator import SPARK_DDL

DAY = dt.date(2026, 11, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--state", default="/tmp/ctrflow-bench-ingest")
    a = ap.parse_args()
    loaded = config.load(
        overrides=[
            f"project.state_dir={a.state}",
            f"synth.rows_per_day={a.rows}",
            "synth.write_tsv=true",
            "spark.log_level=ERROR",
            "spark.profiles.local.conf.spark.ui.showConsoleProgress=false",
            "sources.sources.criteo_tsv.max_bad_fraction=0.01",
        ]
    )
    settings = loaded.settings
    spark = get_session(settings)
    landing = settings.project.path("landing", "click_logs", f"ds={DAY}")
    if not os.path.isdir(landing):
        from jobs import generate

        t0 = time.perf_counter()
        generate.run(spark, generate.Config(ds=DAY, conf=loaded))
        print(f"generated {a.rows:,} rows of TSV in {time.perf_counter() - t0:.1f} s")
        bad = a.rows // 1000
        good = "\t".join(["0", *["1"] * 13, *["0a1b2c3d"] * 26])
        broken = [
            "\t".join(["1", "x", *["1"] * 12, *["0a1b2c3d"] * 26]),  # unparsable number
            "\t".join(["7", *["1"] * 13, *["0a1b2c3d"] * 26]),  # label out of range
            "\t".join(["0", *["1"] * 13, *["0a1b2c3d"] * 25]),
        ]  # 39 fields
        with open(os.path.join(landing, "part-broken.csv"), "w") as f:
            for i in range(bad):
                f.write((broken[i % 3] if i % 2 == 0 else good) + "\n")
    total_lines = sum(1 for _ in open(os.path.join(landing, "part-broken.csv"))) + a.rows
    from pipelines.ingest.load import ingest_day

    plain_out = os.path.join(a.state, "plain_parquet")
    runs = {
        "plain": lambda: (
            shutil.rmtree(plain_out, ignore_errors=True),
            spark.read.csv(landing, sep="\t", header=False, schema=SPARK_DDL)
            .write.mode("overwrite")
            .parquet(plain_out),
        ),
        # the same plain read written as a Delta partition: the cost of the table format alone
        "delta": lambda: tables.write_delta_partition(
            spark.read.csv(landing, sep="\t", header=False, schema=SPARK_DDL), "stg.bench_plain_delta", DAY
        ),
        "ctrflow": lambda: ingest_day(spark, settings, "criteo_tsv", DAY, loaded.config_hash),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(a.rounds):
        for name, run in runs.items():
            t0 = time.perf_counter()
            res = run()
            times[name].append(time.perf_counter() - t0)
            if name == "ctrflow":
                assert res["staged_rows"] + res["quarantined_rows"] == total_lines
                quarantined = res["quarantined_rows"]
            print(
                f"round {r + 1} {name:<8} {times[name][-1]:7.1f} s  {total_lines / times[name][-1]:>10,.0f} rows/s",
                flush=True,
            )
    best = {k: min(v) for k, v in times.items()}
    print(
        f"rows {total_lines:,} (quarantined: {quarantined:,}); best: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in best.items())
    )
    print(
        f"throughput ratio ctrflow/plain = {best['plain'] / best['ctrflow']:.2f}; "
        f"plain Delta/plain = {best['plain'] / best['delta']:.2f}; ctrflow/plain Delta = "
        f"{best['delta'] / best['ctrflow']:.2f}"
    )


if __name__ == "__main__":
    main()
