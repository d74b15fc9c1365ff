"""A trained booster as bytes, with what leaf encoding needs: the leaf layout and vectorised predictions.

Both backends are handled the same way: `Booster.from_bytes(backend, raw)` on an executor, then
`leaves(X)` returns, for every row and tree, the *global* leaf position `offset[tree] + ordinal`,
where ordinal numbers a tree's leaves 0..n_leaves-1 (xgboost reports node ids, LightGBM leaf
numbers; both go through one lookup table). Everything is numpy over a whole Arrow batch.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

_CACHE: dict[str, Booster] = {}  # one deserialised booster per executor process and model


class Booster:
    def __init__(self, backend: str, raw: bytes):
        self.backend, self.raw = backend, raw
        if backend == "xgboost":
            import xgboost as xgb

            self.model = xgb.Booster(params={"nthread": 1})
            self.model.load_model(bytearray(raw))
            self.lut, self.offsets, self.n_leaves = _xgboost_layout(self.model)
        elif backend == "lightgbm":
            import lightgbm as lgb

            self.model = lgb.Booster(model_str=raw.decode())
            self.lut, self.offsets, self.n_leaves = _lightgbm_layout(self.model)
        else:
            raise ValueError(f"unknown booster backend '{backend}' (xgboost or lightgbm)")

    @classmethod
    def cached(cls, backend: str, raw: bytes) -> Booster:
        key = f"{backend}:{hashlib.sha1(raw).hexdigest()}"
        if key not in _CACHE:
            _CACHE[key] = cls(backend, raw)
        return _CACHE[key]

    @property
    def num_trees(self) -> int:
        return len(self.offsets)

    @property
    def total_leaves(self) -> int:
        return int(self.offsets[-1] + self.n_leaves[-1])

    def raw_leaves(self, X: np.ndarray) -> np.ndarray:
        """The backend's own leaf ids (xgboost node ids / LightGBM leaf numbers), shape (rows, trees)."""
        if self.backend == "xgboost":
            import xgboost as xgb

            return self.model.predict(xgb.DMatrix(X, missing=np.nan), pred_leaf=True, validate_features=False).astype(
                np.int64
            )
        return np.asarray(self.model.predict(X, pred_leaf=True, num_threads=1), dtype=np.int64)

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """Global leaf positions (rows, trees): one-hot column indices, increasing along each row."""
        raw = self.raw_leaves(X).reshape(len(X), self.num_trees)
        return self.lut[np.arange(self.num_trees)[None, :], raw] + self.offsets[None, :]

    def probability(self, X: np.ndarray) -> np.ndarray:
        if self.backend == "xgboost":
            import xgboost as xgb

            return self.model.predict(xgb.DMatrix(X, missing=np.nan), validate_features=False).astype(np.float64)
        return np.asarray(self.model.predict(X, num_threads=1), dtype=np.float64)


def _layout(leaf_ids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup table (tree, backend leaf id) -> ordinal, per-tree offsets, per-tree leaf counts."""
    width = max(int(ids.max()) for ids in leaf_ids) + 1
    lut = np.full((len(leaf_ids), width), -1, dtype=np.int64)
    for t, ids in enumerate(leaf_ids):
        lut[t, np.sort(ids)] = np.arange(len(ids))
    n_leaves = np.array([len(ids) for ids in leaf_ids], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_leaves)[:-1]]).astype(np.int64)
    return lut, offsets, n_leaves


def _xgboost_layout(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids: dict[int, list[int]] = {}
    for dump in model.get_dump(dump_format="json"):
        tree = json.loads(dump)
        t = len(ids)
        ids[t] = []
        stack = [tree]
        while stack:
            node = stack.pop()
            if "leaf" in node:
                ids[t].append(node["nodeid"])
            else:
                stack.extend(node["children"])
    return _layout([np.array(ids[t], dtype=np.int64) for t in range(len(ids))])


def _lightgbm_layout(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    info = model.dump_model()["tree_info"]
    return _layout([np.arange(t["num_leaves"], dtype=np.int64) for t in info])
