"""The in-memory DeepFM training arrays the deep CTR bench shares with its peer comparisons, and ctrflow's
own DeepFM loop over them (the baseline each comparison measures in the same process as its peer).

bench/deep_ctr.py saves what the loader produced (`save`); the peer scripts, run in child processes with a
throw-away install on sys.path (bench/peers.py), load it (`load`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from pipelines.ctr.models import FeatureSpec


def save(directory: str, spec: FeatureSpec, arrays) -> Path:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    np.savez(d / "arrays.npz", cat=arrays[0], num=arrays[1], label=arrays[2])
    (d / "spec.json").write_text(json.dumps(dataclasses.asdict(spec)))
    return d


def load(directory: str, rows: int | None = None):
    """(spec, (cat with global offsets int64, num float32, label float32)), the first `rows` rows."""
    d = Path(directory)
    spec = FeatureSpec(**json.loads((d / "spec.json").read_text()))
    with np.load(d / "arrays.npz") as z:
        arrays = tuple(z[k][:rows] for k in ("cat", "num", "label"))
    return spec, arrays


def ctrflow_loop(spec: FeatureSpec, arrays, batch_size: int, threads: int, model_cfg=None) -> dict:
    """One epoch of ctrflow's DeepFM (its config and optimizer) over in-memory tensors: rows per second of
    wall time and per CPU-second of this process."""
    import torch

    from pipelines.ctr.models import build_model, load_config

    torch.set_num_threads(threads)
    cat, num, y = (torch.from_numpy(a) for a in arrays)
    model = build_model("deepfm", spec, model_cfg or load_config("deepfm"))
    opt = model.make_optimizer()
    model.train()
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(y), batch_size):
        opt.zero_grad()
        model.loss(cat[i : i + batch_size], num[i : i + batch_size], y[i : i + batch_size]).backward()
        opt.step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"rows": len(y), "rows_per_s": len(y) / wall, "rows_per_cpu_s": len(y) / cpu}
