"""The parallel reader (ctr.read_threads) on plain Parquet files: the same batches as the one-thread reader
for a seed, every row once, a reader thread's error raised in the training thread with the file named, and
the setting's validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.errors import DataError
from pipelines.ctr import data
from pipelines.settings.ctr import CtrSettings
from tests.unit.ctr import tiny


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> data.DataPlan:
    """2,500 rows in three files of uneven row groups; n2 holds the row id."""
    root = tmp_path_factory.mktemp("feat")
    files, start = [], 0
    for i, (rows, group) in enumerate(((1100, 300), (900, 64), (500, 500))):
        df = tiny.frame(rows, seed=i)
        df["n2"] = np.arange(start, start + rows, dtype=np.float64)
        start += rows
        path = str(root / f"part-{i}.parquet")
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=group)
        files.append(path)
    return data.plan_files("feat.tiny", [], files)


def _epoch(plan, rank, size, threads, epoch=0, seed=3):
    return list(
        data.worker_batches(
            plan,
            tiny.spec(),
            rank,
            size,
            epoch=epoch,
            batch_size=128,
            shuffle_buffer=400,
            read_rows=100,
            read_threads=threads,
            seed=seed,
        )
    )


@pytest.mark.parametrize("threads", [1, 3, 8])
def test_parallel_reader_gives_the_sequential_readers_batches(plan, threads):
    for size in (1, 2):
        seen = []
        for rank in range(size):
            one, many = _epoch(plan, rank, size, 0), _epoch(plan, rank, size, threads)
            assert len(one) == len(many) == data.steps_per_epoch(plan, size, 128)
            for a, b in zip(one, many, strict=True):  # same rows, same order, same arrays: a seed fixes the epoch
                for x, y in zip(a, b, strict=True):
                    assert x.dtype == y.dtype and np.array_equal(x, y)
            seen.append(np.concatenate([num[:, 1] for _, num, _ in many]))
        ids = np.sort(np.concatenate(seen)).astype(np.int64)
        assert ids.tolist() == list(range(plan.rows))  # every row once over the ranks


def test_parallel_eval_chunks_keep_file_order(plan):
    spec = tiny.spec()
    chunks = list(data.eval_chunks(plan, spec, 0, 1, read_rows=100, read_threads=4))
    ids = np.concatenate([num[:, 1] for _, num, _ in chunks]).astype(np.int64)
    assert ids.tolist() == list(range(plan.rows))


def test_a_reader_threads_error_names_the_file_and_row_group(plan, tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")  # rewritten after planning: no footer any more
    mixed = dataclasses.replace(plan, pieces=[*plan.pieces, data.Piece(str(broken), 0, 100)])
    with pytest.raises(DataError, match=r"reader thread failed on .*broken\.parquet row group 0"):
        list(data.eval_chunks(mixed, tiny.spec(), 0, 1, read_rows=100, read_threads=3))


def test_missing_columns_keep_their_own_message_from_a_reader_thread(plan, tmp_path):
    path = tmp_path / "old.parquet"
    pq.write_table(pa.table({"label": [1.0, 0.0], "u_idx": [1, 2]}), path)
    old = dataclasses.replace(plan, pieces=[data.Piece(str(path), 0, 2)])
    with pytest.raises(DataError, match=r"old\.parquet lacks feature-map columns .*rerun the features job"):
        list(data.eval_chunks(old, tiny.spec(), 0, 1, read_threads=2))


@pytest.mark.parametrize("threads", [-1, 65])
def test_read_threads_is_validated(threads):
    with pytest.raises(ValueError, match="read_threads must be in"):
        CtrSettings(read_threads=threads).validate()
    CtrSettings(read_threads=0).validate()
    assert CtrSettings().read_threads == 2
