"""Helpers for stage tests: run a stage inside a Pipeline, save/load it, compare outputs."""

from __future__ import annotations

import pytest
from pyspark.ml import Pipeline, PipelineModel


def rows(df, *cols, key: str = "id") -> dict:
    """{key: (cols...)} of a small DataFrame (order-free comparisons)."""
    return {r[key]: tuple(r[c] for c in cols) for r in df.select(key, *cols).collect()}


@pytest.fixture
def roundtrip(tmp_path):
    """fit(stages on train) -> PipelineModel; save, load; assert both transform `other` alike."""

    def run(stages, train, other=None, cols=None):
        model = Pipeline(stages=stages).fit(train)
        path = str(tmp_path / "model")
        model.write().overwrite().save(path)
        loaded = PipelineModel.load(path)
        other = train if other is None else other
        before = model.transform(other)
        after = loaded.transform(other)
        cols = cols or [c for c in before.columns if c not in other.columns]
        assert rows(before, *cols) == rows(after, *cols)
        assert [type(s) for s in loaded.stages] == [type(s) for s in model.stages]
        return model, before

    return run
