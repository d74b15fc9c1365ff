"""Peer libraries for the benches, installed at bench time into throw-away directories and run in a child
process that puts the directory first on sys.path: never into the project's environment or requirements.

    target = install("deepctr_torch")          # /tmp/ctrflow-bench-deepctr_torch, pip --no-deps --target
    figures = run_peer(script, target, args)    # the script's last stdout line, parsed as JSON

The pins are here, next to nothing else: what a peer needs beyond the project's own packages (torch,
numpy, scikit-learn) is listed with it. A peer that does not install or import is reported, not fatal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATH_ENV = "CTRFLOW_BENCH_PEER_PATH"  # the child inserts this directory first on sys.path

PEERS = {
    "deepctr_torch": ["deepctr-torch==0.3.0", "tqdm==4.67.1"],  # needs torch, scikit-learn, tqdm; no TensorFlow
    "fbgemm": ["fbgemm-gpu-cpu==1.8.0"],  # FBGEMM's table-batched embeddings (TorchRec's kernels), CPU build
}


class PeerError(RuntimeError):
    pass


def install(name: str, packages: list[str] | None = None, root: str = "/tmp") -> Path:
    """The peer's packages in <root>/ctrflow-bench-<name> (installed once per pin set; reused after)."""
    packages = packages or PEERS[name]
    target = Path(root) / f"ctrflow-bench-{name}"
    stamp = target / ".ctrflow-pins"
    if stamp.exists() and stamp.read_text() == "\n".join(packages):
        return target
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "--upgrade"]
    done = subprocess.run([*cmd, "--target", str(target), *packages], capture_output=True, text=True)
    if done.returncode:
        raise PeerError(f"pip install {' '.join(packages)} failed: {done.stderr.strip()[-800:]}")
    stamp.write_text("\n".join(packages))
    return target


def run_peer(script: Path, target: Path, args: list[str], timeout_s: int = 1800) -> dict:
    """Run `script` (a bench/ file) in a child Python with `target` importable; its last stdout line is JSON."""
    env = {**os.environ, PATH_ENV: str(target), "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, env=env, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as e:
        raise PeerError(f"{script.name} ran past {timeout_s} s") from e
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        raise PeerError(f"{script.name} exited {done.returncode}: {done.stderr.strip()[-1500:]}")
    return json.loads(lines[-1])


def use_peer_path() -> None:
    """In the child: the throw-away directory first on sys.path (called before importing the peer)."""
    if os.environ.get(PATH_ENV):
        sys.path.insert(0, os.environ[PATH_ENV])
