"""An index version's files, on any filesystem pipelines.common.storage opens (the registry's):

<dir>/index/shard-00000.faiss ...   one file per shard (one shard unless the build kept several)
<dir>/id_map/part-00000.parquet ... faiss_id (int64) -> id (the embeddings table's id, its own type)
<dir>/metadata.json                 factory, choice reason, recall@k, tuned nprobe / efSearch, QPS, lineage
"""

from __future__ import annotations

import numpy as np

from pipelines.common import storage

INDEX_DIR, ID_MAP_DIR, METADATA = "index", "id_map", "metadata.json"


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
        storage.write_bytes(shard_uri(root, i), to_bytes(shard))
    storage.write_json(f"{root}/{METADATA}", metadata, sort_keys=True, default=str)


def read_metadata(root: str) -> dict:
    return storage.read_json(f"{root}/{METADATA}")


def load(root: str, metadata: dict | None = None):
    """The searchable index: the one shard, or all shards behind faiss.IndexShards (results merged)."""
    import faiss

    metadata = metadata or read_metadata(root)
    shards = [from_bytes(storage.read_bytes(shard_uri(root, i))) for i in range(int(metadata["shards"]))]
    if len(shards) == 1:
        return shards[0]
    combined = faiss.IndexShards(shards[0].d, False, False)  # not threaded; ids are global already
    for shard in shards:
        combined.add_shard(shard)
    return combined
