"""Feat table Parquet -> torch-ready numpy batches, sharded by worker rank.

The driver lists the live Parquet files of the wanted ds partitions from the Delta log (never by
listing the directory: a Delta directory also holds files of old versions) and reads their footers
into a `DataPlan` of row-group pieces. Each worker then reads only its own rows with pyarrow: per
epoch the pieces are put in a seeded random order, the concatenated rows are cut into `size`
contiguous ranges (sizes differ by at most one row) and rank r reads range r, so an epoch covers every
row exactly once across the workers. With `read_threads` >= 1 a pool of reader threads decodes that many
row groups at once (pyarrow releases the GIL) and hands them over in order, so the batches are the same
as one thread's; at most `read_threads` decoded row groups wait for the training loop. A piece can be
a row range of its row group: `split_holdout` cuts the last rows of every row group into a holdout plan
(early stopping and best-epoch choice) and leaves the rest to train on, so the two are disjoint and
together are the whole plan. Rows pass through a
bounded shuffle buffer and leave as numpy arrays (categorical local index + field offset as int64,
numeric as float32, label as float32): no Python loop over rows. Every rank yields the same number of
batches (Horovod / DDP need that): the last batch takes the rows left over.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from pipelines.common import storage
from pipelines.common.ordered_pool import ordered_map
from pipelines.core.errors import DataError
from pipelines.ctr.models.base import FeatureSpec


@dataclass(frozen=True)
class Piece:
    path: str  # a Parquet file (local path or URI)
    row_group: int
    rows: int
    start: int = 0  # the piece is rows [start, start + rows) of the row group


@dataclass(frozen=True)
class DataPlan:
    table: str
    days: list[str]
    pieces: list[Piece]

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.pieces)


Batch = tuple[np.ndarray, np.ndarray, np.ndarray]  # cat int64 [n, F], num float32 [n, N], label float32 [n]


def live_files(spark, table: str, days: list[dt.date], version: int | None) -> list[str]:
    """The Parquet files of the ds partitions in the table's Delta snapshot (at `version`)."""
    from pipelines.features.flow import read_days

    return sorted(read_days(spark, table, days, version).inputFiles())


def open_parquet(path: str):
    import pyarrow.parquet as pq

    filesystem, p = storage.filesystem(path)
    return pq.ParquetFile(filesystem.open_input_file(p))


def plan_files(table: str, days: list[dt.date], files: list[str]) -> DataPlan:
    pieces = []
    for path in files:
        meta = open_parquet(path).metadata
        pieces += [
            Piece(path, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups) if meta.row_group(i).num_rows
        ]
    return DataPlan(table=table, days=[d.isoformat() for d in days], pieces=pieces)


def plan_days(spark, table: str, days: list[dt.date], version: int | None) -> DataPlan:
    files = live_files(spark, table, days, version)
    if not files:
        raise DataError(f"{table} has no files for ds in {[d.isoformat() for d in days]} (Delta version {version})")
    return plan_files(table, days, files)


def split_holdout(plan: DataPlan, fraction: float) -> tuple[DataPlan, DataPlan]:
    """(train, holdout): the last rows of every row group, about `fraction` of the plan's rows in all, are
    the holdout. Per-piece counts follow the running total, so small row groups do not round to nothing."""
    train, holdout, seen, held = [], [], 0, 0
    for p in plan.pieces:
        seen += p.rows
        h = min(p.rows, round(seen * fraction) - held)
        held += h
        if p.rows - h:
            train.append(Piece(p.path, p.row_group, p.rows - h, p.start))
        if h:
            holdout.append(Piece(p.path, p.row_group, h, p.start + p.rows - h))
    return (
        DataPlan(table=plan.table, days=plan.days, pieces=train),
        DataPlan(table=plan.table, days=plan.days, pieces=holdout),
    )


def label_mean(plan: DataPlan, label: str) -> float:
    """The plan's positive rate, reading only the label column (for callers without Spark)."""
    total, rows = 0.0, 0
    for p in plan.pieces:
        col = open_parquet(p.path).read_row_group(p.row_group, columns=[label]).column(0).slice(p.start, p.rows)
        total, rows = total + float(np.nansum(col.to_numpy(zero_copy_only=False))), rows + p.rows
    if rows == 0:
        raise DataError(f"{plan.table} ds {plan.days}: no rows to take the positive rate of")
    return total / rows


def shard(
    plan: DataPlan, rank: int, size: int, epoch: int = 0, seed: int = 0, shuffle: bool = True
) -> list[tuple[Piece, int, int]]:
    """Rank's (piece, first row, end row) slices for an epoch: a contiguous range of the epoch's order."""
    order = list(plan.pieces)
    if shuffle:
        rng = np.random.default_rng([seed, epoch])
        order = [order[i] for i in rng.permutation(len(order))]
    total = plan.rows
    lo, hi = total * rank // size, total * (rank + 1) // size
    out, start = [], 0
    for piece in order:
        end = start + piece.rows
        a, b = max(lo, start), min(hi, end)
        if a < b:
            out.append((piece, a - start, b - start))
        start = end
    return out


def steps_per_epoch(plan: DataPlan, size: int, batch_size: int) -> int:
    """Batches every rank yields per epoch (the same on all ranks)."""
    smallest = plan.rows // size
    if smallest == 0:
        raise DataError(f"{plan.table} ds {plan.days}: {plan.rows} rows cannot feed {size} workers")
    return math.ceil(smallest / batch_size)


def fitted_batch_size(plan: DataPlan, size: int, max_batch: int, min_batch: int, min_steps: int) -> int:
    """Per-worker batch size for a window: `max_batch` on a large one; on a small one as small as it takes to
    make `min_steps` optimizer steps per epoch, but not below `min_batch` (a 2,048-row batch leaves an
    8,000-row window two steps per worker and epoch: the embedding models do not learn)."""
    wanted = math.ceil(max(plan.rows // size, 1) / max(min_steps, 1))
    return max(1, min(max_batch, max(min_batch, wanted)))


def to_arrays(batch, spec: FeatureSpec) -> Batch:
    """An Arrow record batch / table of feat columns -> (cat + offsets int64, num float32, label float32)."""
    import pyarrow.compute as pc

    n = batch.num_rows

    def col(name, dtype, fill):
        c = batch.column(name)
        if c.null_count:
            c = pc.fill_null(c, fill)
        return c.to_numpy(zero_copy_only=False).astype(dtype, copy=False)

    cat = np.empty((n, len(spec.cat_fields)), dtype=np.int64)
    for j, name in enumerate(spec.cat_fields):
        cat[:, j] = col(name, np.int64, 0)
    cat += np.asarray(spec.offsets, dtype=np.int64)
    num = np.empty((n, len(spec.num_fields)), dtype=np.float32)
    for j, name in enumerate(spec.num_fields):
        num[:, j] = col(name, np.float32, 0.0)
    label = col(spec.label, np.float32, 0.0) if spec.label in batch.schema.names else np.zeros(n, np.float32)
    return cat, num, label


def _opened(cache: dict, path: str):
    return cache.get(path) or cache.setdefault(path, open_parquet(path))


def _slice_batches(pf, piece: Piece, first: int, end: int, spec: FeatureSpec, read_rows: int) -> Iterator[Batch]:
    """Rows [first, end) of a piece, in Arrow record batches of `read_rows` converted to arrays."""
    columns = spec.columns()
    names = set(pf.schema_arrow.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataError(f"{piece.path} lacks feature-map columns {missing}: rerun the features job")
    pos, first, end = 0, first + piece.start, end + piece.start
    for rb in pf.iter_batches(batch_size=read_rows, row_groups=[piece.row_group], columns=columns):
        a, b = max(first - pos, 0), min(end - pos, rb.num_rows)
        pos += rb.num_rows
        if a < b:
            yield to_arrays(rb.slice(a, b - a), spec)
        if pos >= end:
            break


def read_slices(slices, spec: FeatureSpec, read_rows: int, threads: int = 0) -> Iterator[Batch]:
    """The rows of each (piece, first, end) slice, in Arrow record batches converted to arrays.

    threads 0: decoded one record batch at a time in the caller's thread. threads >= 1: each slice (at most
    a row group) decoded whole by a pool of that many reader threads, at most `threads` slices decoded
    ahead of the caller; the same arrays in the same order either way."""
    if threads == 0:
        opened: dict[str, object] = {}
        for piece, first, end in slices:
            yield from _slice_batches(_opened(opened, piece.path), piece, first, end, spec, read_rows)
        return
    local = threading.local()  # a ParquetFile per reader thread: one reader is not shared between threads

    def decode(item) -> list[Batch]:
        piece, first, end = item
        try:
            pf = _opened(local.__dict__.setdefault("opened", {}), piece.path)
            return list(_slice_batches(pf, piece, first, end, spec, read_rows))
        except DataError:
            raise
        except Exception as e:
            raise DataError(
                f"reader thread failed on {piece.path} row group {piece.row_group} (rows {piece.start + first}-"
                f"{piece.start + end}): {type(e).__name__}: {e}"
            ) from e

    for batches in ordered_map(decode, slices, threads=threads, name="ctr-reader"):
        yield from batches


def _concat(parts: list[Batch]) -> Batch:
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]


def _take(b: Batch, idx) -> Batch:
    return b[0][idx], b[1][idx], b[2][idx]


def shuffled(chunks: Iterator[Batch], capacity: int, rng: np.random.Generator) -> Iterator[Batch]:
    """A bounded shuffle: fill a buffer of `capacity` rows, permute it, let half of it out, refill."""
    parts, held = [], 0
    for chunk in chunks:
        parts.append(chunk)
        held += len(chunk[2])
        if held >= capacity:
            buf = _take(_concat(parts), rng.permutation(held))
            keep = capacity // 2
            yield _take(buf, slice(keep, None))
            parts, held = [_take(buf, slice(0, keep))], keep
    if held:
        buf = _concat(parts)
        yield _take(buf, rng.permutation(held))


def rebatch(chunks: Iterator[Batch], sizes: list[int]) -> Iterator[Batch]:
    """Cut a stream of row chunks into batches of exactly the given sizes. A batch within a chunk is a view
    of it; only a batch that spans chunks is copied (so each row is copied at most once here)."""
    it = iter(sizes)
    want = next(it, None)
    parts, held = [], 0  # rows carried over from earlier chunks, fewer than `want`
    for chunk in chunks:
        pos, n = 0, len(chunk[2])
        while want is not None and held + n - pos >= want:
            piece = _take(chunk, slice(pos, pos + want - held))
            yield _concat([*parts, piece])
            pos += want - held
            parts, held, want = [], 0, next(it, None)
        if pos < n:
            parts.append(_take(chunk, slice(pos, None)))
            held += n - pos
    if want is not None or held:
        raise DataError(
            f"a worker's shard ended with {held} rows left and batches still expected: the table "
            f"changed while training read it"
        )


def batch_sizes(rows: int, steps: int, batch_size: int) -> list[int]:
    return [batch_size] * (steps - 1) + [rows - batch_size * (steps - 1)]


def worker_batches(
    plan: DataPlan,
    spec: FeatureSpec,
    rank: int,
    size: int,
    *,
    epoch: int,
    batch_size: int,
    shuffle_buffer: int = 0,
    read_rows: int = 16_384,
    read_threads: int = 0,
    seed: int = 0,
    shuffle: bool = True,
) -> Iterator[Batch]:
    """A rank's batches of an epoch: exactly steps_per_epoch(plan, size, batch_size) of them."""
    slices = shard(plan, rank, size, epoch, seed, shuffle)
    rows = sum(b - a for _, a, b in slices)
    chunks = read_slices(slices, spec, read_rows, read_threads)
    if shuffle and shuffle_buffer > 0:
        chunks = shuffled(chunks, shuffle_buffer, np.random.default_rng([seed, epoch, rank, 1]))
    yield from rebatch(chunks, batch_sizes(rows, steps_per_epoch(plan, size, batch_size), batch_size))


def eval_chunks(
    plan: DataPlan, spec: FeatureSpec, rank: int, size: int, read_rows: int = 16_384, read_threads: int = 0
) -> Iterator[Batch]:
    """A rank's share of a plan in file order, for scoring (no shuffle, no step alignment)."""
    yield from read_slices(shard(plan, rank, size, shuffle=False), spec, read_rows, read_threads)
