"""How the cost of a whole day grows with its size: the ctr_daily chain of jobs at day sizes doubling.

    .venv/bin/python bench/scaling.py --sizes 500000 1000000 2000000 4000000 [--state /tmp/ctrflow-bench-scaling]
    .venv/bin/python bench/scaling.py --report        # the table and plot again from the results file

Each size has its own state directory and runs every job as its own process (`python -m jobs ...`, its
own Spark session, `local[*]`, the bench's driver memory), as Airflow runs them: generate and ingest two
days of N rows, fit the features on the first and transform the second, train GBDT+LR and DeepFM (one
epoch, the `ctr.backend` of the config) on the first day with the second as validation day, score the
second with GBDT+LR. For every stage: seconds (Spark's start included, as in a DAG run), and the peak
resident memory, sampled every 0.2 s, of the job's driver (its Python process), of its JVM (in
`local[*]` the executors run inside it) and of all other processes below it together (Spark's Python
workers, Horovod's ranks), which are the executors' Python side. (All jobs of a size in one session, as
this bench first did, made the 4M-row day fail: see docs/benchmarks.md, "Scaling".)

Results are appended per size to `<state>/scaling.json` (a size that completed is never rerun unless
--fresh); the report prints per stage the seconds at each size, the log-log slope of time against rows
(over all sizes, and from 1M rows up), the memory peaks and their ratio largest / smallest day, and
draws both to docs/scaling.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
STAGES = ["generate", "ingest", "features fit", "features transform", "gbdt_lr", "deepfm (1 epoch)", "score"]
PLOT = ROOT / "docs" / "scaling.png"


class PeakMemory:
    """Peak RSS (bytes) of the job processes this process starts (the drivers), of their JVMs and of all
    other descendants, sampled while a stage runs: `with peaks.stage(): ...` then `peaks.last`."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self.me = psutil.Process()
        self.interval = interval
        self.last: dict[str, int] = {}

    def _sample(self) -> dict[str, int]:
        import psutil

        out = {"driver_python": 0, "jvm": 0, "workers": 0}
        for child in self.me.children(recursive=True):
            try:
                rss = child.memory_info().rss
                if child.name() == "java":
                    key = "jvm"
                else:
                    key = "driver_python" if child.ppid() == self.me.pid else "workers"
                out[key] += rss
            except psutil.Error:
                continue
        return out

    @contextmanager
    def stage(self):
        peak = self._sample()
        stop = threading.Event()

        def run():
            while not stop.wait(self.interval):
                for k, v in self._sample().items():
                    peak[k] = max(peak[k], v)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.last = peak


def one_size(rows: int, state: str, driver_memory: str) -> dict:
    """Run the chain for one day size, each job in its own process; {stage: {"s": seconds, memory peaks}}."""
    from bench.runner import synthetic_sets

    shutil.rmtree(state, ignore_errors=True)
    sets = [
        *synthetic_sets(state, rows),
        f"spark.profiles.local.conf.spark.driver.memory={driver_memory}",
        "gbdt.train_days=1",
        "ctr.train_days=1",
        "ctr.epochs=1",
        "spark.profiles.local.conf.spark.ui.showConsoleProgress=false",
    ]
    flags = [a for s in sets for a in ("--set", s)]

    def job(*argv: str) -> float:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "jobs", *argv, *flags], cwd=ROOT)
        if proc.returncode != 0:
            raise SystemExit(f"scaling: job {' '.join(argv)} failed (exit {proc.returncode})")
        return time.perf_counter() - t0

    peaks = PeakMemory()
    out: dict[str, dict] = {}
    steps = [
        ("generate", [("generate", "--ds", str(D1))], [("generate", "--ds", str(D2))]),
        (
            "ingest",
            [("ingest", "--source", "click_logs", "--ds", str(D1))],
            [("ingest", "--source", "click_logs", "--ds", str(D2))],
        ),
        ("features fit", [("features", "--pipeline", "ctr_default", "--ds", str(D1), "--fit")], []),
        ("features transform", [("features", "--pipeline", "ctr_default", "--ds", str(D2))], []),
        ("gbdt_lr", [("train_gbdt_lr", "--ds", str(D2))], []),
        ("deepfm (1 epoch)", [("train_ctr", "--model", "deepfm", "--ds", str(D2))], []),
        ("score", [("score", "--model", "gbdt_lr", "--ds", str(D2))], []),
    ]
    for name, timed, untimed in steps:
        with peaks.stage():
            seconds = sum(job(*argv) for argv in timed)
        for argv in untimed:  # the second day's copy of a per-day step: needed, not measured twice
            job(*argv)
        out[name] = {"s": round(seconds, 1), **{f"{k}_mb": round(v / 2**20) for k, v in peaks.last.items()}}
        print(f"scaling {rows:,} rows: {name} {seconds:.1f} s, peaks {out[name]}", flush=True)
    return out


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) on log(x); None with fewer than two points."""
    if len(xs) < 2:
        return None
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-3)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def report(results: dict[str, dict]) -> None:
    sizes = sorted(int(k) for k in results)
    if not sizes:
        raise SystemExit("scaling: no results yet")
    print("\n== seconds per stage by rows per day (slope: d log t / d log rows; goal <= 1.1 from 1M up) ==")
    print(f"{'stage':<20}" + "".join(f"{n:>11,}" for n in sizes) + f"{'slope':>8}{'>=1M':>7}")
    for stage in [*STAGES, "total"]:
        ts = [_total(results[str(n)]) if stage == "total" else results[str(n)][stage]["s"] for n in sizes]
        big = [(n, t) for n, t in zip(sizes, ts, strict=True) if n >= 1_000_000]
        s_all, s_big = slope(sizes, ts), slope([n for n, _ in big], [t for _, t in big])
        print(f"{stage:<20}" + "".join(f"{t:>11.1f}" for t in ts) + f"{_fmt(s_all):>8}{_fmt(s_big):>7}")
    print("\n== peak resident memory (MB) over the chain by rows per day; ratio largest / smallest day ==")
    for key in ("driver_python", "jvm", "workers"):
        peaks = [max(v[f"{key}_mb"] for v in results[str(n)].values()) for n in sizes]
        print(f"{key:<20}" + "".join(f"{p:>11,}" for p in peaks) + f"{peaks[-1] / max(peaks[0], 1):>8.2f}x")
    _plot(results, sizes)
    print(f"\nplot: {PLOT.relative_to(ROOT)}")
    print("\n" + markdown(results, sizes))


def markdown(results: dict, sizes: list[int]) -> str:
    """The seconds and slopes as the markdown table docs/benchmarks.md keeps."""
    head = "| stage | " + " | ".join(f"{n:,} rows s" for n in sizes) + " | slope, all sizes | slope from 1M |"
    lines = [head, "|" + "---|" * (len(sizes) + 3)]
    for stage in [*STAGES, "total"]:
        ts = [_total(results[str(n)]) if stage == "total" else results[str(n)][stage]["s"] for n in sizes]
        big = [(n, t) for n, t in zip(sizes, ts, strict=True) if n >= 1_000_000]
        s_all, s_big = slope(sizes, ts), slope([n for n, _ in big], [t for _, t in big])
        lines.append(f"| {stage} | " + " | ".join(f"{t:.1f}" for t in ts) + f" | {_fmt(s_all)} | {_fmt(s_big)} |")
    for key in ("driver_python", "jvm", "workers"):
        peaks = [max(v[f"{key}_mb"] for v in results[str(n)].values()) for n in sizes]
        lines.append(
            f"| peak RSS, {key} (MB) | "
            + " | ".join(f"{p:,}" for p in peaks)
            + f" | {peaks[-1] / max(peaks[0], 1):.2f}x | |"
        )
    return "\n".join(lines)


def _total(stages: dict) -> float:
    return sum(v["s"] for v in stages.values())


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _plot(results: dict, sizes: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 4.8))
    for stage in STAGES:
        ax_t.plot(sizes, [results[str(n)][stage]["s"] for n in sizes], marker="o", label=stage)
    ref = results[str(sizes[0])]
    t0 = _total(ref)
    ax_t.plot(sizes, [_total(results[str(n)]) for n in sizes], marker="s", color="black", label="total")
    ax_t.plot(sizes, [t0 * n / sizes[0] for n in sizes], ls=":", color="grey", label="linear from the smallest")
    ax_t.set(xscale="log", yscale="log", xlabel="rows per day", ylabel="seconds", title="time per stage")
    ax_t.legend(fontsize=7)
    for key, label in (
        ("driver_python", "driver (Python)"),
        ("jvm", "JVM (driver + local executors)"),
        ("workers", "Python workers / ranks"),
    ):
        ax_m.plot(
            sizes, [max(v[f"{key}_mb"] for v in results[str(n)].values()) for n in sizes], marker="o", label=label
        )
    ax_m.set(xscale="log", xlabel="rows per day", ylabel="peak RSS (MB)", title="peak memory over the chain")
    ax_m.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[500_000, 1_000_000, 2_000_000, 4_000_000])
    ap.add_argument("--state", default="/tmp/ctrflow-bench-scaling")
    ap.add_argument("--driver-memory", default="6g")
    ap.add_argument("--fresh", action="store_true", help="rerun sizes already in the results file")
    ap.add_argument("--report", action="store_true", help="only print and plot the results file")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process: run this size
    args = ap.parse_args()
    results_file = Path(args.state) / "scaling.json"
    if args.one:
        res = one_size(args.one, str(Path(args.state) / f"rows-{args.one}"), args.driver_memory)
        (Path(args.state) / f"result-{args.one}.json").write_text(json.dumps(res))
        return
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    if not args.report:
        for n in sorted(args.sizes):
            if str(n) in results and not args.fresh:
                continue
            t0 = time.perf_counter()
            cmd = [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--state",
                args.state,
                "--driver-memory",
                args.driver_memory,
            ]
            one = Path(args.state) / f"result-{n}.json"
            one.unlink(missing_ok=True)
            proc = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)})
            if proc.returncode != 0 or not one.exists():
                raise SystemExit(f"scaling: the run of {n:,} rows failed (exit {proc.returncode})")
            results[str(n)] = json.loads(one.read_text())
            results_file.parent.mkdir(parents=True, exist_ok=True)
            results_file.write_text(json.dumps(results, indent=1))
            print(f"scaling: {n:,} rows done in {time.perf_counter() - t0:.0f} s", flush=True)
    report(results)


if __name__ == "__main__":
    main()
