"""Deep CTR: data loader vs training speed, Horovod scaling, distributed vs a plain PyTorch loop, and the
AUC of LR, FM, DeepFM and DCN against the planted ceiling.

    .venv/bin/python bench/deep_ctr.py --rows 200000 [--state /tmp/ctrflow-bench-ctr] [--reuse]

One Spark session, one run:
  1. two days of synthetic click logs (generate -> ingest -> features ctr_default fitted on day 1);
  2. (a) the loader alone (pipelines.ctr.data: Delta log -> Parquet row groups -> shuffle buffer ->
     numpy batches, one worker) with ctr.read_threads reader threads and with none (the one-thread
     reader), against the rate at which DeepFM consumes batches already in memory at 1 and 2 torch
     threads (goal: loader >= 5x what a 2-thread DeepFM consumes);
     peers, on the loader's arrays, each in a child process with the peer installed in a throw-away
     directory (bench/peers.py): DeepCTR-Torch's DeepFM against ctrflow's, one thread, rows per
     CPU-second (bench/deepctr_torch_deepfm.py); ctrflow's DeepFM step against the same DeepFM on
     FBGEMM's fused-Adagrad tables, ms per step (bench/fused_deepfm.py);
  3. (b) DeepFM, one epoch of day 1, with horovod.spark.run at 1 and 2 workers (one torch thread each):
     training rows/s (epoch time, start-up excluded) and the 2-worker / 1-worker ratio;
  4. (c) the same model and batches in a plain single-process PyTorch loop over in-memory tensors
     (torch threads = all cores) as the baseline of the distributed run;
  5. LR, FM, DeepFM, DCN and DCNv2 trained on day 1 with the shipped ctr settings (early stopping on the
     window's holdout slice; `--backend`, default torch_distributor with ctr.num_workers processes) and
     evaluated on day 2 (AUC, NE, calibration = mean prediction / CTR), next to the planted model's own AUC
     on day 2 (raw.click_logs_ceiling); and DeepFM's training loss over its first 20 steps (rank 0's batches,
     one process). `--accumulators 0 0.01 0.1` repeats the quality runs once per Adagrad initial accumulator
     (keys auc_<model>@<value>); `--quality-only` skips steps 2-4; `--skip` leaves out any of loader,
     peers, fused, horovod, plain, quality.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import deepfm_arrays, peers  # noqa: E402
from bench.runner import job_runner, make_days, open_session, synthetic_sets  # noqa: E402
from pipelines.ctr import data  # noqa: E402

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
MEASURES = ("loader", "peers", "fused", "horovod", "plain", "quality")


def _plain_loop(model_cfg, spec, arrays, batch_size: int, threads: int) -> float:
    """rows/s of one epoch of a plain PyTorch loop over in-memory tensors (the baseline)."""
    return deepfm_arrays.ctrflow_loop(spec, arrays, batch_size, threads, model_cfg)["rows_per_s"]


def _loader_rows_per_s(plan, spec, ctr, threads: int) -> tuple[float, list]:
    t0 = time.perf_counter()
    parts = list(
        data.worker_batches(
            plan,
            spec,
            0,
            1,
            epoch=0,
            batch_size=ctr.batch_size,
            shuffle_buffer=ctr.shuffle_buffer,
            read_rows=ctr.read_batch_rows,
            read_threads=threads,
        )
    )
    return plan.rows / (time.perf_counter() - t0), parts


def _peer(out: dict, key: str, peer: str, script: str, args: list[str]) -> None:
    """A peer comparison's figures under out[key], or the reason it could not run (not fatal)."""
    try:
        out[key] = peers.run_peer(ROOT / "bench" / script, peers.install(peer), args)
    except (peers.PeerError, OSError, ValueError) as e:
        out[key] = {"error": str(e)}


def _first_losses(model_cfg, spec, plan, ctr, base_rate: float, steps: int) -> list[float]:
    """DeepFM's training loss on rank 0's first batches (the batch size the workers would use), one process."""
    import torch

    from pipelines.ctr import data
    from pipelines.ctr.models import build_model

    train_plan, _ = data.split_holdout(plan, ctr.holdout_fraction)
    batch = data.fitted_batch_size(
        train_plan, ctr.num_workers, ctr.batch_size, ctr.min_batch_size, ctr.min_steps_per_epoch
    )
    model = build_model("deepfm", spec, model_cfg, base_rate=base_rate)
    opt, losses = model.make_optimizer(), []
    model.train()
    for epoch in range(steps):
        batches = data.worker_batches(
            train_plan,
            spec,
            0,
            ctr.num_workers,
            epoch=epoch,
            batch_size=batch,
            shuffle_buffer=ctr.shuffle_buffer,
            read_rows=ctr.read_batch_rows,
            seed=ctr.seed,
        )
        for cat, num, y in batches:
            if len(losses) < model_cfg.warmup_steps:  # as the training loop does
                for group in opt.param_groups:
                    group["lr"] = model_cfg.learning_rate * (len(losses) + 1) / model_cfg.warmup_steps
            opt.zero_grad()
            loss = model.loss(torch.from_numpy(cat), torch.from_numpy(num), torch.from_numpy(y))
            loss.backward()
            opt.step()
            losses.append(round(float(loss.detach()), 3))
            if len(losses) == steps:
                return losses
    return losses


def _quality(spark, settings, args, spec, train_plan, val_plan, out: dict) -> None:
    """Step 5: each model trained with the shipped settings and evaluated on day 2, next to the ceiling."""
    import shutil

    import yaml

    from pipelines.ctr import train
    from pipelines.ctr.models import load_config

    # quality against the planted ceiling, with the shipped training settings
    ceiling = spark.table("raw.click_logs_ceiling").where(f"ds = '{D2}'").first().asDict()
    out["ceiling_auc"] = ceiling["auc"]

    ctr_over = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.ctr)}
    quality = dataclasses.replace(settings.ctr, **{"backend": args.backend, "log_every_steps": 10**9, **ctr_over})
    if args.epochs:
        quality = dataclasses.replace(quality, epochs=args.epochs)
    base_rate = data.label_mean(train_plan, spec.label)
    for acc in args.accumulators or [None]:
        for name in args.models:
            over = [*args.param, *([] if acc is None else [f"adagrad_initial_accumulator={acc}"])]
            suffix = "" if acc is None else f"@{acc:g}"
            tspec = train.TrainSpec.on_window(
                train_plan,
                quality,
                model=name,
                features=spec,
                base_rate=base_rate,
                model_config=load_config(name, None, overrides=over),
                checkpoint_dir=f"{args.state}/bench-ckpt-{name}",
                out_dir=f"{args.state}/bench-out-{name}",
            )
            shutil.rmtree(tspec.checkpoint_dir, ignore_errors=True)
            result = train.launch(tspec, spark)
            m = train.evaluate_saved(f"{tspec.out_dir}/{train.MODEL_DIR}", val_plan)
            for key in ("auc", "ne", "calibration"):
                out[f"{key}_{name}{suffix}"] = m[key]
            out[f"epochs_{name}{suffix}"] = f"{result['best_epoch'] + 1}/{result['epochs_run']}"
    out["batch_size_quality"] = result["batch_size"]
    out["deepfm_first_20_losses"] = _first_losses(
        load_config("deepfm", None, overrides=args.param), spec, train_plan, quality, base_rate, 20
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000, help="rows per day (two days are made)")
    ap.add_argument("--epochs", type=int, default=0, help="epochs of each quality run (default: ctr.epochs)")
    ap.add_argument("--state", default="/tmp/ctrflow-bench-ctr")
    ap.add_argument("--reuse", action="store_true", help="keep the state directory's data from a previous run")
    ap.add_argument(
        "--accumulators",
        type=float,
        nargs="+",
        help="quality step only, once per value of adagrad_initial_accumulator (default: each "
        "model's configured value)",
    )
    ap.add_argument("--quality-only", action="store_true", help="skip the throughput measures (a), (b), (c)")
    ap.add_argument("--skip", nargs="+", default=[], choices=MEASURES, help="measures to leave out")
    ap.add_argument("--peer-rows", type=int, default=100_000, help="rows each peer comparison trains on")
    ap.add_argument("--backend", default="torch_distributor", help="ctr.backend of the quality runs")
    ap.add_argument("--models", nargs="+", default=["lr", "fm", "deepfm", "dcn", "dcn_v2"])
    ap.add_argument("--param", nargs="+", default=[], help="model config overrides key=value for every quality run")
    ap.add_argument("--ctr", nargs="+", default=[], help="ctr settings overrides key=value for the quality runs")
    args = ap.parse_args()

    import shutil

    import numpy as np

    from pipelines.ctr import train
    from pipelines.ctr.models import FeatureSpec, load_config
    from pipelines.features.trainset import load_feature_map

    sets = [*synthetic_sets(args.state, args.rows), "spark.profiles.local.master=local[2]"]
    settings, spark = open_session(args.state, sets, reuse=args.reuse)
    if not args.reuse:
        make_days(job_runner(spark, sets), [D1, D2])

    fm = load_feature_map(spark, settings, "ctr_default")
    spec = FeatureSpec.from_feature_map(fm)
    feat = "feat.ctr_default"
    train_plan, val_plan = data.plan_days(spark, feat, [D1], None), data.plan_days(spark, feat, [D2], None)
    ctr = dataclasses.replace(settings.ctr, epochs=1, patience=1, log_every_steps=10**9, holdout_fraction=0.0)
    deepfm = load_config("deepfm")
    out = {
        "rows_per_day": args.rows,
        "fields": spec.num_fields_total,
        "total_vocab_size": spec.total_vocab_size,
        "batch_size": ctr.batch_size,
    }

    skip = set(MEASURES[:-1] if args.quality_only else args.skip)
    if "loader" not in skip:
        # (a) the loader alone, parallel and one-thread readers, vs DeepFM's consumption of in-memory batches
        out["read_threads"], out["row_groups"] = ctr.read_threads, len(train_plan.pieces)
        best = {ctr.read_threads: 0.0, 0: 0.0}
        for threads in [*best, *best]:  # each twice, alternating: best of two, neither alone on a cold cache
            rate, parts = _loader_rows_per_s(train_plan, spec, ctr, threads)
            best[threads] = max(best[threads], rate)
        out["loader_rows_per_s"], out["loader_rows_per_s_one_thread_reader"] = best[ctr.read_threads], best[0]
        out["loader_parallel_vs_one_thread"] = out["loader_rows_per_s"] / out["loader_rows_per_s_one_thread_reader"]
        arrays = tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
        del parts
        for threads in (1, 2):
            out[f"consume_rows_per_s_{threads}_thread"] = _plain_loop(deepfm, spec, arrays, ctr.batch_size, threads)
            out[f"loader_vs_training_{threads}_thread"] = (
                out["loader_rows_per_s"] / out[f"consume_rows_per_s_{threads}_thread"]
            )
        if not {"peers", "fused"} <= skip:
            deepfm_arrays.save(f"{args.state}/arrays", spec, arrays)
        if "peers" not in skip:
            rows = ["--rows", str(args.peer_rows), "--batch", str(ctr.batch_size)]
            _peer(out, "deepctr_torch", "deepctr_torch", "deepctr_torch_deepfm.py", [f"{args.state}/arrays", *rows])
        if "fused" not in skip:
            _peer(out, "fbgemm", "fbgemm", "fused_deepfm.py", [f"{args.state}/arrays", "--batch", str(ctr.batch_size)])
        if "plain" not in skip:
            # (c) the plain single-process loop on all cores
            out["plain_rows_per_s_all_threads"] = _plain_loop(deepfm, spec, arrays, ctr.batch_size, os.cpu_count())
        del arrays

    if "horovod" not in skip:
        # (b) Horovod on Spark at 1 and 2 workers
        for workers in (1, 2):
            s = dataclasses.replace(ctr, backend="horovod_spark", num_workers=workers, threads_per_worker=1)
            tspec = train.TrainSpec.on_window(
                train_plan,
                s,
                model="deepfm",
                model_config=deepfm,
                features=spec,
                checkpoint_dir=f"{args.state}/bench-ckpt-{workers}",
                out_dir=f"{args.state}/bench-out-{workers}",
            )
            shutil.rmtree(tspec.checkpoint_dir, ignore_errors=True)
            t0 = time.perf_counter()
            result = train.launch(tspec, spark)
            out[f"horovod_{workers}_rows_per_s"] = result["history"][0]["rows_per_second"]
            out[f"horovod_{workers}_wall_s"] = time.perf_counter() - t0
        out["scaling_2_vs_1"] = out["horovod_2_rows_per_s"] / out["horovod_1_rows_per_s"]
        if "plain_rows_per_s_all_threads" in out:
            out["horovod_2_vs_plain"] = out["horovod_2_rows_per_s"] / out["plain_rows_per_s_all_threads"]

    if "quality" not in skip:
        _quality(spark, settings, args, spec, train_plan, val_plan, out)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}, indent=1))


if __name__ == "__main__":
    main()
