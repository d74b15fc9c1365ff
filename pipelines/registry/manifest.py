"""Checksums of a model version's files: `manifest.json`, written at registration, verified on demand.

    {"algorithm": "sha256",
     "files": {"meta.json": {"size": 812, "sha256": "..."},
               "artifacts/model/metadata/part-00000": {"size": 301, "sha256": "..."}, ...}}

Paths are relative to the version directory. Every file under `artifacts/` is listed, and `meta.json`
too, so a hand-edited meta (a metric changed to pass the gate) is found like a corrupted model file.
"""

from __future__ import annotations

import hashlib
import json

from pyarrow import fs as pafs

MANIFEST = "manifest.json"
ALGORITHM = "sha256"
_CHUNK = 1 << 20


def digest(data: bytes) -> dict:
    return {"size": len(data), ALGORITHM: hashlib.sha256(data).hexdigest()}


def file_digest(fs: pafs.FileSystem, path: str) -> dict:
    h, size = hashlib.sha256(), 0
    with fs.open_input_stream(path) as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return {"size": size, ALGORITHM: h.hexdigest()}


def artifact_files(fs: pafs.FileSystem, version_dir: str) -> dict[str, int]:
    """Relative path -> size of every file under <version_dir>/artifacts ({} when it is missing)."""
    root = f"{version_dir}/artifacts"
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    return {f"artifacts/{i.path[len(root) + 1 :]}": i.size for i in infos if i.type == pafs.FileType.File}


def build(fs: pafs.FileSystem, version_dir: str) -> dict:
    """The manifest of the artifacts under version_dir (meta.json is added by the caller, once written)."""
    files = {rel: file_digest(fs, f"{version_dir}/{rel}") for rel in sorted(artifact_files(fs, version_dir))}
    return {"algorithm": ALGORITHM, "files": files}


def parse(text: str) -> dict:
    """The manifest's {path: {size, sha256}}; ValueError naming what is wrong with it."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{MANIFEST} is {'empty' if not text.strip() else f'not valid JSON ({e})'}") from None
    if not isinstance(data, dict):
        data = {}
    files = data.get("files")
    if (
        data.get("algorithm") != ALGORITHM
        or not isinstance(files, dict)
        or not all(
            isinstance(v, dict) and isinstance(v.get("size"), int) and isinstance(v.get(ALGORITHM), str)
            for v in files.values()
        )
    ):
        raise ValueError(f"{MANIFEST} is not a {ALGORITHM} manifest of files with their size")
    return files


def verify(fs: pafs.FileSystem, version_dir: str, files: dict, hashes: bool = True) -> list[str]:
    """What differs between the files of version_dir and its manifest: a missing file, a changed one
    (size, or content when hashes), a file the manifest does not list. [] when all match."""
    present = artifact_files(fs, version_dir)
    meta = fs.get_file_info(f"{version_dir}/meta.json")
    if meta.type == pafs.FileType.File:
        present["meta.json"] = meta.size
    problems = []
    for rel, want in sorted(files.items()):
        if rel not in present:
            problems.append(f"{rel} missing")
        elif present[rel] != want["size"]:
            problems.append(f"{rel} changed (size {present[rel]}, registered {want['size']})")
        elif hashes and file_digest(fs, f"{version_dir}/{rel}")[ALGORITHM] != want[ALGORITHM]:
            problems.append(f"{rel} changed ({ALGORITHM} differs)")
    problems += [f"{rel} added after registration" for rel in sorted(set(present) - set(files))]
    return problems
