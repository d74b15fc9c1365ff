"""The data path on a real Delta feat table: live files from the Delta log, rank shards that cover every
row exactly once, equal step counts, bounded shuffle, Arrow -> arrays."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from pipelines.common import tables
from pipelines.core.errors import DataError
from pipelines.ctr import data
from tests.unit.ctr import tiny

D1, D2 = dt.date(2026, 8, 1), dt.date(2026, 8, 2)


@pytest.fixture(scope="module")
def feat(spark, settings):
    """Two days in several files each; day 1 written twice, so its directory holds stale files too."""
    name = tables.table(settings, "feat", "ctr_data_it")
    start = 0
    for day, rows in ((D1, 500), (D1, 1234), (D2, 777)):
        df = tiny.frame(rows, seed=rows)
        df["n2"] = np.arange(start, start + rows, dtype=np.float64)  # a row id
        start += rows
        tables.write_delta_partition(spark.createDataFrame(df).repartition(3), name, day)
    return name


def _ids(batches) -> np.ndarray:
    return np.concatenate([num[:, 1] for _, num, _ in batches]).astype(np.int64)


def test_live_files_come_from_the_delta_log(spark, feat):
    plan = data.plan_days(spark, feat, [D1, D2], None)
    assert plan.rows == 1234 + 777 == spark.table(feat).count()
    assert all(p.path.startswith("file:") or p.path.startswith("/") for p in plan.pieces)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_ranks_together_see_every_row_once(spark, feat, size):
    spec = tiny.spec()
    plan = data.plan_days(spark, feat, [D1, D2], None)
    steps = data.steps_per_epoch(plan, size, batch_size=64)
    for epoch in (0, 1):
        per_rank = []
        for rank in range(size):
            batches = list(
                data.worker_batches(
                    plan, spec, rank, size, epoch=epoch, batch_size=64, shuffle_buffer=300, read_rows=100, seed=3
                )
            )
            assert len(batches) == steps
            assert all(len(b[2]) == 64 for b in batches[:-1]) and 1 <= len(batches[-1][2]) <= 65
            per_rank.append(_ids(batches))
        seen = np.concatenate(per_rank)
        assert len(seen) == plan.rows and len(np.unique(seen)) == plan.rows
        assert set(seen) == set(range(500, 500 + plan.rows))  # the stale first write of D1 is not read
    # another epoch gives another order
    first = _ids(data.worker_batches(plan, spec, 0, 2, epoch=0, batch_size=64, shuffle_buffer=300, seed=3))
    second = _ids(data.worker_batches(plan, spec, 0, 2, epoch=1, batch_size=64, shuffle_buffer=300, seed=3))
    assert not np.array_equal(first, second)


def test_arrays_carry_offsets_and_fill_nulls():
    import pyarrow as pa

    spec = tiny.spec()
    df = pd.DataFrame(
        {"label": [1, 0], "u_idx": [3, 0], "c_idx": [0, 9], "it_idx": [1, 2], "n1": [0.5, None], "n2": [1.0, 2.0]}
    )
    cat, num, y = data.to_arrays(pa.Table.from_pandas(df).to_batches()[0], spec)
    assert cat.dtype == np.int64 and cat.tolist() == [[3, 10, 21], [0, 19, 22]]
    assert num.dtype == np.float32 and num.tolist() == [[0.5, 1.0], [0.0, 2.0]]
    assert y.tolist() == [1.0, 0.0]


def test_shuffle_buffer_is_bounded_and_keeps_every_row():
    rng = np.random.default_rng(0)
    chunks = [
        (np.zeros((50, 1), np.int64), np.arange(i, i + 50, dtype=np.float32)[:, None], np.zeros(50, np.float32))
        for i in range(0, 1000, 50)
    ]
    out = list(data.shuffled(iter(chunks), capacity=200, rng=rng))
    assert max(len(c[2]) for c in out) <= 200
    ids = np.concatenate([c[1][:, 0] for c in out])
    assert sorted(ids) == list(range(1000)) and not np.array_equal(ids, np.arange(1000))


def test_rebatch_cuts_exact_sizes_across_and_within_chunks():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 300, 40)  # chunks smaller than a batch and larger than several
    starts = np.concatenate([[0], np.cumsum(lengths)])
    chunks = [
        (np.zeros((n, 1), np.int64), np.arange(a, a + n, dtype=np.float32)[:, None], np.zeros(n, np.float32))
        for a, n in zip(starts[:-1], lengths, strict=True)
    ]
    total = int(starts[-1])
    sizes = data.batch_sizes(total, math.ceil(total / 64), 64)
    out = list(data.rebatch(iter(chunks), sizes))
    assert [len(b[2]) for b in out] == sizes
    assert np.concatenate([b[1][:, 0] for b in out]).tolist() == list(range(total))
    with pytest.raises(DataError, match="rows left and batches still expected"):
        list(data.rebatch(iter(chunks), sizes[:-1]))  # rows left over
    with pytest.raises(DataError, match="rows left and batches still expected"):
        list(data.rebatch(iter(chunks), [*sizes, 5]))  # a batch expected that no row fills
