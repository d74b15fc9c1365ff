"""An index version's files, on any filesystem pyarrow.fs opens (the registry's):

<dir>/index/shard-00000.faiss ...   one file per shard (one shard unless the build kept several)
<dir>/id_map/part-00000.parquet ... faiss_id (int64) -> id (the embeddings table's id, its own type)
<dir>/metadata.json                 factory, choice reason, recall@k, tuned nprobe / efSearch, QPS, lineage
"""

from __future__ import annotations

import json

import numpy as np
from pyarrow import fs as pafs

INDEX_DIR, ID_MAP_DIR, METADATA = "index", "id_map", "metadata.json"


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    if "://" in uri:
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), uri


def write_bytes(uri: str, data: bytes) -> None:
    fs, path = filesystem(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as f:
        f.write(data)


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open_input_stream(path) as f:
        return f.read()


def to_bytes(index) -> bytes:
    import faiss

    return faiss.serialize_index(index).tobytes()


def from_bytes(data: bytes):
    import faiss

    return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))


def shard_uri(root: str, i: int) -> str:
    return f"{root}/{INDEX_DIR}/shard-{i:05d}.faiss"


def save(root: str, shards: list, metadata: dict) -> None:
    for i, shard in enumerate(shards):
        write_bytes(shard_uri(root, i), to_bytes(shard))
    write_bytes(f"{root}/{METADATA}", json.dumps(metadata, indent=2, sort_keys=True, default=str).encode())


def read_metadata(root: str) -> dict:
    return json.loads(read_bytes(f"{root}/{METADATA}").decode())


def load(root: str, metadata: dict | None = None):
    """The searchable index: the one shard, or all shards behind faiss.IndexShards (results merged)."""
    import faiss

    metadata = metadata or read_metadata(root)
    shards = [from_bytes(read_bytes(shard_uri(root, i))) for i in range(int(metadata["shards"]))]
    if len(shards) == 1:
        return shards[0]
    combined = faiss.IndexShards(shards[0].d, False, False)  # not threaded; ids are global already
    for shard in shards:
        combined.add_shard(shard)
    return combined
