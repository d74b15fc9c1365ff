"""ctrflow's DeepFM step (sparse Adagrad in its optimizer) against the same DeepFM with its embedding tables
in FBGEMM's table-batched embedding (TorchRec's kernels) with Adagrad fused into backward: ms per step.

Run by bench/deep_ctr.py in a child process with `fbgemm-gpu-cpu` installed in a throw-away directory
(bench/peers.py); by hand:

    CTRFLOW_BENCH_PEER_PATH=/tmp/ctrflow-bench-fbgemm PYTHONPATH=. .venv/bin/python \
        bench/fused_deepfm.py /tmp/ctrflow-bench-ctr/arrays --steps 60

The fused model is ctrflow's DeepFM with its two tables swapped for one `SplitTableBatchedEmbeddingBagsCodegen`
on the CPU, one table per categorical field, each lookup a bag of one, whose row holds a value's field
vector (embed_dim columns) and its linear weight (the next column; FBGEMM wants a multiple of 4 columns,
so 3 more columns that nothing reads get no gradient); everything else (numeric field vectors, numeric
linear weights, output bias, FM interaction, MLP) is ctrflow's own modules, trained by ctrflow's Adam
(`SparseAdagradDenseAdam` with only its dense group). One torch thread. Steps alternate in blocks
between the two models over the same batches; the figure is the median block's ms per step. Prints one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.deepfm_arrays import load  # noqa: E402
from bench.peers import use_peer_path  # noqa: E402


def fused_deepfm(spec, cfg, optimizer: str):
    """ctrflow's DeepFM with FBGEMM tables (fused `optimizer` update) and its optimizer for the rest."""
    import torch
    from fbgemm_gpu.split_embedding_configs import EmbOptimType
    from fbgemm_gpu.split_table_batched_embeddings_ops_common import EmbeddingLocation, PoolingMode
    from fbgemm_gpu.split_table_batched_embeddings_ops_training import (
        ComputeDevice,
        SplitTableBatchedEmbeddingBagsCodegen,
    )
    from torch import nn

    from pipelines.ctr.models import build_model
    from pipelines.ctr.models.blocks import fm_interaction
    from pipelines.ctr.models.optim import SparseAdagradDenseAdam

    dim = cfg.embed_dim + 4

    def tables():
        return SplitTableBatchedEmbeddingBagsCodegen(
            [(v, dim, EmbeddingLocation.HOST, ComputeDevice.CPU) for v in spec.vocab_sizes],
            optimizer=getattr(EmbOptimType, optimizer),
            learning_rate=cfg.learning_rate,
            eps=1e-10,
            pooling_mode=PoolingMode.SUM,
            device=torch.device("cpu"),
        )

    class FusedDeepFM(nn.Module):
        def __init__(self):
            super().__init__()
            base = build_model("deepfm", spec, cfg)  # the dense modules, initialised as ctrflow's
            self.tables = tables()
            self.numeric, self.numeric_linear, self.bias = base.embedding.numeric, base.linear.numeric, base.linear.bias
            self.deep = base.deep
            self.fields = len(spec.vocab_sizes)
            self.register_buffer("offsets", torch.tensor(spec.offsets, dtype=torch.int64))
            self.copy_tables(base)

        @torch.no_grad()
        def copy_tables(self, model) -> None:
            """The tables' rows from a ctrflow DeepFM's shared tables (so both start from the same weights)."""
            vectors, weights = model.embedding.table.weight, model.linear.weights.weight
            for w, start, rows in zip(
                self.tables.split_embedding_weights(), spec.offsets, spec.vocab_sizes, strict=True
            ):
                w.zero_()
                w[:, : cfg.embed_dim] = vectors[start : start + rows]
                w[:, cfg.embed_dim] = weights[start : start + rows, 0]

        def inputs(self, cat):
            """FBGEMM's input: per-table indices, field-major, one bag per (field, row)."""
            indices = (cat - self.offsets).t().contiguous().view(-1)
            return indices, torch.arange(indices.numel() + 1, dtype=torch.int64)

        def forward(self, indices, offsets, num):
            b = num.shape[0]
            rows = self.tables(indices, offsets).view(b, self.fields, -1)
            emb = torch.cat([rows[:, :, : cfg.embed_dim], num.unsqueeze(-1) * self.numeric], dim=1)
            linear = rows[:, :, cfg.embed_dim].sum(1) + self.bias + self.numeric_linear(num).squeeze(-1)
            return linear + fm_interaction(emb) + self.deep(emb.flatten(1)).squeeze(-1)

        def loss(self, cat, num, y):
            return nn.functional.binary_cross_entropy_with_logits(self(*self.inputs(cat), num), y)

    model = FusedDeepFM()
    dense = [p for name, p in model.named_parameters() if not name.startswith("tables.")]
    opt = SparseAdagradDenseAdam([{"params": dense, "rule": "adam", "lr": cfg.dense_learning_rate}])
    return model, opt


def step_ms(models: dict, arrays, batch: int, steps: int, block: int = 10) -> dict:
    """Median over blocks of ms per training step, the models taking turns block by block; and the mean
    training loss of each model's steps on the same batches (a check that each trains: not equal, since
    FBGEMM's Adagrad starts its sums at 0 and ctrflow's at adagrad_initial_accumulator)."""
    import torch

    cat, num, y = (torch.from_numpy(a) for a in arrays)
    n = len(y) // batch
    times, losses = {name: [] for name in models}, {name: [] for name in models}
    for start in range(0, steps, block):
        for name, (model, opt) in models.items():
            t0 = time.perf_counter()
            for s in range(start, start + block):
                i = (s % n) * batch
                opt.zero_grad()
                loss = model.loss(cat[i : i + batch], num[i : i + batch], y[i : i + batch])
                loss.backward()
                opt.step()
                losses[name].append(loss.detach())
            times[name].append((time.perf_counter() - t0) * 1000 / block)
    return {
        "ms_per_step": {name: statistics.median(t) for name, t in times.items()},
        "mean_loss": {name: float(torch.stack(v).mean()) for name, v in losses.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arrays", help="directory written by bench.deepfm_arrays.save")
    ap.add_argument("--steps", type=int, default=60, help="timed steps per model (after 5 warm-up steps)")
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--optimizers", nargs="+", default=["EXACT_ROWWISE_ADAGRAD", "EXACT_ADAGRAD"])
    args = ap.parse_args()
    use_peer_path()

    import fbgemm_gpu
    import torch

    from pipelines.ctr.models import build_model, load_config

    torch.set_num_threads(1)
    spec, arrays = load(args.arrays)
    cfg = load_config("deepfm")
    out = {"fbgemm_gpu_version": getattr(fbgemm_gpu, "__version__", "?"), "torch_version": torch.__version__}
    ctrflow = build_model("deepfm", spec, cfg)
    models = {"ctrflow": (ctrflow, ctrflow.make_optimizer())}
    for name in args.optimizers:
        try:
            models[f"fbgemm_{name.lower()}"] = fused_deepfm(spec, cfg, name)
        except Exception as e:  # an optimizer this CPU build lacks is reported, the others still race
            out[f"fbgemm_{name.lower()}_error"] = f"{type(e).__name__}: {e}"[:500]
    cat, num = (torch.from_numpy(a[: args.batch]) for a in arrays[:2])
    with torch.no_grad():  # the same function of the same weights: both start from ctrflow's initial model
        want = ctrflow(cat, num)
        out["same_logits_max_abs_diff"] = {
            name: float((m(*m.inputs(cat), num) - want).abs().max())
            for name, (m, _) in models.items()
            if name != "ctrflow"
        }
    step_ms(models, arrays, args.batch, 5, block=5)  # warm-up
    out.update(step_ms(models, arrays, args.batch, args.steps))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
