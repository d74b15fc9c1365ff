"""The add pass's checks of one Arrow batch (counts by numpy / pyarrow compute), their sum, duplicate ids,
and the one-line errors they become."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from pipelines.ann.vector_checks import Duplicates, VectorCounts, batch_counts, duplicate_ids, raise_problems
from pipelines.core.errors import DataError

NAN = math.nan


def _vecs(rows) -> pa.Array:
    return pa.array(rows, pa.list_(pa.float32()))


def test_clean_batch_counts_and_components():
    counts, values = batch_counts(pa.array(["a", "b"]), _vecs([[1, 2, 3], [4, 5, 6]]))
    assert counts == VectorCounts(rows=2, dims={3: 2})
    assert counts.clean(3) and not counts.clean(4)
    assert values.dtype == np.float32 and values.reshape(2, 3)[1].tolist() == [4, 5, 6]


def test_bad_rows_are_counted_once_each():
    ids = pa.array(["a", None, "c", "d", "e", "f"])
    vecs = _vecs([[1, 2], None, [NAN, NAN], [1, None], [1, 2, 3], []])
    counts, values = batch_counts(ids, vecs)
    # the row with two NaN components counts once; a null component is bad like a NaN
    assert counts == VectorCounts(rows=6, null_ids=1, null_vectors=1, bad_vectors=2, dims={0: 1, 2: 3, 3: 1})
    assert len(values) == 2 + 2 + 2 + 3 and not counts.clean(2)


def test_a_sliced_batch_counts_only_its_rows():
    vecs = _vecs([[NAN, 1], [1, 2], None, [3, 4], [5, NAN]]).slice(1, 3)  # [1, 2], None, [3, 4]
    counts, values = batch_counts(None, vecs)
    assert counts == VectorCounts(rows=3, null_vectors=1, dims={2: 2})
    assert values.tolist() == [1, 2, 3, 4]
    counts, _ = batch_counts(None, _vecs([[NAN, 1], [1, 2], [3, 4], [5, NAN]]).slice(2, 2))
    assert counts.bad_vectors == 1  # the NaN of the last row, not of the first (outside the slice)


def test_a_null_vector_over_values_is_left_out():
    """Arrow lets a null list keep values behind it: they are neither components nor counted as bad."""
    values = pa.array([1, 2, NAN, NAN, 5, NAN], pa.float32())
    vecs = pa.ListArray.from_arrays(pa.array([0, 2, 4, 6], pa.int32()), values, mask=pa.array([False, True, False]))
    counts, flat = batch_counts(None, vecs)
    assert counts == VectorCounts(rows=3, null_vectors=1, bad_vectors=1, dims={2: 2})
    assert len(flat) == 4 and flat[:2].tolist() == [1, 2]


def test_chunked_column_of_a_table():
    column = pa.chunked_array([_vecs([[1, 2]]), _vecs([[3, NAN], [5, 6]])])
    counts, values = batch_counts(None, column)
    assert counts == VectorCounts(rows=3, bad_vectors=1, dims={2: 3}) and len(values) == 6


def test_counts_add_up():
    total = VectorCounts(rows=2, null_ids=1, dims={4: 2}) + VectorCounts(rows=3, bad_vectors=1, dims={4: 1, 8: 2})
    assert total == VectorCounts(rows=5, null_ids=1, bad_vectors=1, dims={4: 3, 8: 2})
    assert sum([VectorCounts(rows=1, dims={2: 1})] * 3, VectorCounts()) == VectorCounts(rows=3, dims={2: 3})


def test_duplicate_ids_of_any_type():
    dups = duplicate_ids(pa.array(["a", "b", "a", None, "c", "b", "a", None]))
    assert dups == Duplicates(count=3, among=6, examples=[("a", 3), ("b", 2)])
    dups = duplicate_ids(pa.array(np.array([5, 1, 2, 3, 5], dtype=np.int64)))
    assert dups == Duplicates(count=1, among=5, examples=[(5, 2)])
    assert duplicate_ids(pa.array(np.arange(1000, dtype=np.int64))).count == 0


def test_messages_name_where_column_and_counts():
    def message(counts, dups=None):
        with pytest.raises(DataError) as e:
            raise_problems("out.items ds=2026-10-02", counts, "id", "vector", dups)
        return str(e.value)

    assert message(VectorCounts()) == "out.items ds=2026-10-02: the partition is empty (0 rows): nothing to index"
    assert message(VectorCounts(rows=3, dims={16: 2, 8: 1})) == (
        "out.items ds=2026-10-02: mixed dimensions in vector: 2 rows of 16, 1 rows of 8"
    )
    assert message(VectorCounts(rows=3, null_ids=1, null_vectors=1, bad_vectors=1, dims={4: 2})) == (
        "out.items ds=2026-10-02: 1 of 3 rows have a null id; 1 of 3 rows have a null vector; "
        "1 of 3 rows have null or NaN components in vector"
    )
    assert message(VectorCounts(rows=3, dims={0: 3})) == "out.items ds=2026-10-02: vector has empty arrays"
    assert message(VectorCounts(rows=3, dims={4: 3}), Duplicates(1, 3, [("a", 2)])) == (
        "out.items ds=2026-10-02: 1 duplicate id values among 3 rows (e.g. 'a' x2)"
    )
    raise_problems("x", VectorCounts(rows=3, dims={4: 3}), "id", "vector", Duplicates(0, 3, []))  # clean: no error
