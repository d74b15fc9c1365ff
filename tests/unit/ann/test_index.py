"""Each index family on small random data: train, add, save/load, search; merging shards equals one build;
recall against a hand-checked case; the search-parameter tuning."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from pipelines.ann import artifacts, build, quality
from pipelines.ann.vectors import faiss_ids

D = 16


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(20, D)).astype(np.float32) * 4
    x = (centers[rng.integers(0, 20, 3000)] + rng.normal(size=(3000, D))).astype(np.float32)
    ids = np.concatenate([faiss_ids(0, 0, 1000), faiss_ids(1, 0, 2000)])
    return x, ids


FACTORIES = {
    "flat": "Flat",
    "ivf_flat": "IVF16,Flat",
    "ivf_pq": "IVF16,PQ4x4",
    "hnsw": "HNSW16",
    "opq": "OPQ4,IVF16,PQ4x4",
}
_TRAINED: dict[str, faiss.Index] = {}


def _trained(family: str, x: np.ndarray):
    """Each family trained once for the module (OPQ's rotation takes seconds); callers get a copy."""
    if family not in _TRAINED:
        _TRAINED[family] = build.train(FACTORIES[family], D, "l2", x[:1000])
    return faiss.clone_index(_TRAINED[family])


@pytest.mark.parametrize("family", list(FACTORIES))
def test_family_build_save_load_search(family, data, tmp_path):
    x, ids = data
    trained = _trained(family, x)
    index = build.build_single_process(trained, x, ids)
    assert index.ntotal == len(x)
    artifacts.save(str(tmp_path), [index], {"shards": 1, "dim": D})
    loaded = artifacts.load(str(tmp_path))
    name, _ = quality.search_param(loaded)
    quality.set_search_param(loaded, name, 16 if name == "nprobe" else 64 if name else None)
    quality.set_search_param(index, name, 16 if name == "nprobe" else 64 if name else None)
    dist, found = loaded.search(x[:20], 5)
    assert np.array_equal(found, index.search(x[:20], 5)[1])
    assert set(found.ravel()) <= set(ids.tolist())  # the ids given, not positions
    if family != "ivf_pq" and family != "opq":  # exact codes: every vector finds itself first
        assert np.array_equal(found[:, 0], ids[:20])


@pytest.mark.parametrize("family", ["flat", "ivf_flat", "ivf_pq", "opq"])
def test_merged_shards_equal_single_build(family, data):
    x, ids = data
    trained = _trained(family, x)
    single = build.build_single_process(trained, x, ids)
    parts = [
        build.build_single_process(trained, x[:1000], ids[:1000]),
        build.build_single_process(trained, x[1000:], ids[1000:]),
    ]
    [merged] = build.merge_shards(parts, 1)
    assert merged.ntotal == single.ntotal
    assert artifacts.to_bytes(merged) == artifacts.to_bytes(single)  # same lists, same ids, same order


def test_hnsw_shards_are_kept_and_searched_together(data, tmp_path):
    x, ids = data
    trained = build.train("HNSW16", D, "l2", x[:0])
    parts = [
        build.build_single_process(trained, x[:1000], ids[:1000]),
        build.build_single_process(trained, x[1000:], ids[1000:]),
    ]
    kept = build.merge_shards(parts, 1)
    assert len(kept) == 2
    artifacts.save(str(tmp_path), kept, {"shards": 2, "dim": D})
    both = artifacts.load(str(tmp_path))
    quality.set_search_param(both, "efSearch", 64)
    _, found = both.search(x[[5, 1500]], 1)
    assert found[:, 0].tolist() == [ids[5], ids[1500]]


def test_merge_into_two_shards_keeps_every_vector(data):
    x, ids = data
    trained = build.train("IVF16,Flat", D, "l2", x)
    parts = [build.build_single_process(trained, x[i : i + 500], ids[i : i + 500]) for i in range(0, 3000, 500)]
    merged = build.merge_shards(parts, 2)
    assert [m.ntotal for m in merged] == [1500, 1500]


def test_recall_by_hand():
    truth = np.array([[1, 2, 3], [4, 5, 6]])
    found = np.array([[3, 9, 1], [7, 8, -1]])
    # query 0: {1, 3} of {1, 2, 3}; query 1: none of {4, 5, 6} -> (2 + 0) / (3 * 2)
    assert quality.recall_at_k(found, truth, 3) == pytest.approx(1 / 3)
    assert quality.recall_at_k(truth, truth, 3) == 1.0
    # recall@1 looks at the first column only: 3 vs 1 and 7 vs 4
    assert quality.recall_at_k(found, truth, 1) == 0.0


def test_tuning_finds_the_smallest_nprobe_reaching_the_target(data):
    x, ids = data
    trained = build.train("IVF16,Flat", D, "l2", x)
    index = build.build_single_process(trained, x, ids)
    _, pos = faiss.knn(x[:200], x, 10)
    truth = ids[pos]
    q = quality.measure(index, x[:200], truth, 10, 0.95, [16])
    assert q.search_param == "nprobe" and q.target_met and q.recall_at_k >= 0.95
    tried = [c["value"] for c in q.curve]
    assert tried == [v for v in (1, 2, 4, 8, 16) if v <= q.search_value]
    assert all(c["recall_at_k"] < 0.95 for c in q.curve[:-1])
    assert index.nprobe == q.search_value and q.qps > 0
    unreachable = quality.measure(index, x[:200], truth, 10, 1.01 - 1e-9, [16])
    assert unreachable.search_value == 16 or not unreachable.target_met
