"""DeepCTR-Torch's DeepFM against ctrflow's on the same arrays, one torch thread: rows per CPU-second.

Run by bench/deep_ctr.py in a child process with DeepCTR-Torch installed in a throw-away directory
(bench/peers.py); by hand:

    CTRFLOW_BENCH_PEER_PATH=/tmp/ctrflow-bench-deepctr_torch PYTHONPATH=. .venv/bin/python \
        bench/deepctr_torch_deepfm.py /tmp/ctrflow-bench-ctr/arrays --rows 100000

Both train one epoch of the same rows, batch 2,048, one torch thread, in this process, ctrflow first and
then DeepCTR-Torch (and ctrflow again, to see the machine's drift). DeepCTR-Torch's DeepFM is the
same architecture (per-field embeddings of the same sizes, FM, MLP 256-128, linear term; numeric fields
as its DenseFeat, which feed the linear term and the MLP), trained the way its README does:
`compile("adagrad", "binary_crossentropy")` (dense torch Adagrad on every weight, lr 0.01) and `fit`
(its own DataLoader loop), with its default L2 on the embeddings (1e-5) and, as a second figure, without
it (`l2_reg_embedding=0, l2_reg_linear=0`: ctrflow has none; the penalty is a pass over every table).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.deepfm_arrays import ctrflow_loop, load  # noqa: E402
from bench.peers import use_peer_path  # noqa: E402


def deepctr_fit(spec, arrays, batch_size: int, embed_dim: int, hidden: list[int], l2: float) -> dict:
    from deepctr_torch.inputs import DenseFeat, SparseFeat, get_feature_names
    from deepctr_torch.models import DeepFM

    cat, num, y = arrays
    local = cat - [spec.offsets]  # DeepCTR-Torch looks each field up in its own table
    columns = [
        SparseFeat(f, vocabulary_size=v, embedding_dim=embed_dim)
        for f, v in zip(spec.cat_fields, spec.vocab_sizes, strict=True)
    ]
    columns += [DenseFeat(f, 1) for f in spec.num_fields]
    x = {f: local[:, j] for j, f in enumerate(spec.cat_fields)} | {f: num[:, j] for j, f in enumerate(spec.num_fields)}
    model = DeepFM(
        columns,
        columns,
        dnn_hidden_units=tuple(hidden),
        task="binary",
        device="cpu",
        l2_reg_embedding=l2,
        l2_reg_linear=l2,
    )
    model.compile("adagrad", "binary_crossentropy")
    x = {name: x[name] for name in get_feature_names(columns)}
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"rows_per_s": len(y) / wall, "rows_per_cpu_s": len(y) / cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arrays", help="directory written by bench.deepfm_arrays.save")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2048)
    args = ap.parse_args()
    use_peer_path()

    import deepctr_torch
    import torch

    from pipelines.ctr.models import load_config

    torch.set_num_threads(1)
    spec, arrays = load(args.arrays, args.rows)
    cfg = load_config("deepfm")
    out = {"deepctr_torch_version": deepctr_torch.__version__, "torch_version": torch.__version__}
    out["ctrflow"] = ctrflow_loop(spec, arrays, args.batch, threads=1, model_cfg=cfg)
    out["deepctr_default_l2"] = deepctr_fit(spec, arrays, args.batch, cfg.embed_dim, cfg.hidden_units, l2=1e-5)
    out["deepctr_no_l2"] = deepctr_fit(spec, arrays, args.batch, cfg.embed_dim, cfg.hidden_units, l2=0.0)
    out["ctrflow_again"] = ctrflow_loop(spec, arrays, args.batch, threads=1, model_cfg=cfg)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
