"""What a day of (id, vector) rows must satisfy to be indexed, and the one-line error when it does not.

The build counts where it reads the vectors: each task of the add pass counts its Arrow batches with
numpy and pyarrow compute (never row by row): rows, null ids, null vectors, vectors with a null or NaN
component, and rows per dimension (`batch_counts`); the driver sums the tasks' counts and looks for
duplicate ids in the id column of the id map the tasks wrote (`duplicate_ids`). `raise_problems` names
the table, the day, the column and the counts. The retrieve job's one Spark aggregation
(`vectors.validate`) fills the same counts and raises the same messages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from pipelines.core.errors import DataError


@dataclass(frozen=True)
class VectorCounts:
    rows: int = 0
    null_ids: int = 0
    null_vectors: int = 0
    bad_vectors: int = 0  # rows whose vector has a null or NaN component
    dims: dict[int, int] = field(default_factory=dict)  # dimension -> rows, over non-null vectors

    def __add__(self, other: VectorCounts) -> VectorCounts:
        return VectorCounts(
            rows=self.rows + other.rows,
            null_ids=self.null_ids + other.null_ids,
            null_vectors=self.null_vectors + other.null_vectors,
            bad_vectors=self.bad_vectors + other.bad_vectors,
            dims=dict(Counter(self.dims) + Counter(other.dims)),
        )

    def clean(self, dim: int) -> bool:
        """Every row counted has an id and a vector of `dim` components, none null or NaN."""
        return not (self.null_ids or self.null_vectors or self.bad_vectors) and set(self.dims) <= {dim}


@dataclass(frozen=True)
class Duplicates:
    count: int  # non-null ids minus distinct ids
    among: int  # non-null ids
    examples: list[tuple[object, int]]  # (id, occurrences), the most repeated first, at most 3


def batch_counts(ids, vecs) -> tuple[VectorCounts, np.ndarray]:
    """The counts of one Arrow batch's id column (None: not counted) and list<float> vector column, and
    the components of its non-null vectors as one flat float32 array (nulls read as NaN)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(vecs, pa.ChunkedArray):
        vecs = vecs.combine_chunks()
    lengths = pc.list_value_length(vecs).fill_null(0).to_numpy()
    valid = np.ones(len(vecs), dtype=bool) if vecs.null_count == 0 else vecs.is_valid().to_numpy(zero_copy_only=False)
    dims, rows = np.unique(lengths[valid], return_counts=True)
    values = vecs.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)  # null lists left out
    bad = np.isnan(values)
    bad_vectors = 0
    if bad.any():  # the row of each component of `values` (pc.list_parent_indices counts null lists' slots)
        parents = np.repeat(np.arange(len(vecs)), lengths)
        bad_vectors = int(np.unique(parents[bad]).size)
    counts = VectorCounts(
        rows=len(vecs),
        null_ids=0 if ids is None else ids.null_count,
        null_vectors=vecs.null_count,
        bad_vectors=bad_vectors,
        dims={int(d): int(n) for d, n in zip(dims, rows, strict=True)},
    )
    return counts, values


def duplicate_ids(ids) -> Duplicates:
    """Repeated values of an id column (a pyarrow array of any type; nulls are not ids)."""
    import pyarrow.compute as pc

    present = pc.drop_null(ids)
    freq = pc.value_counts(present)
    repeated = freq.filter(pc.greater(freq.field("counts"), 1))
    order = np.argsort(-repeated.field("counts").to_numpy(), kind="stable")[:3]
    examples = [
        (repeated.field("values")[int(i)].as_py(), int(repeated.field("counts")[int(i)].as_py())) for i in order
    ]
    return Duplicates(count=len(present) - len(freq), among=len(present), examples=examples)


def raise_problems(
    where: str, counts: VectorCounts, id_col: str, vector_col: str, duplicates: Duplicates | None = None
) -> None:
    """A DataError naming `where` (table ds=day), the column and the counts of every problem found; the
    empty day first, alone."""
    if counts.rows == 0:
        raise DataError(f"{where}: the partition is empty (0 rows): nothing to index")
    n, problems = counts.rows, []
    if counts.null_ids:
        problems.append(f"{counts.null_ids} of {n} rows have a null {id_col}")
    if counts.null_vectors:
        problems.append(f"{counts.null_vectors} of {n} rows have a null {vector_col}")
    if counts.bad_vectors:
        problems.append(f"{counts.bad_vectors} of {n} rows have null or NaN components in {vector_col}")
    if len(counts.dims) > 1:
        common = sorted(counts.dims.items(), key=lambda dn: -dn[1])[:5]
        problems.append(f"mixed dimensions in {vector_col}: " + ", ".join(f"{r} rows of {d}" for d, r in common))
    if 0 in counts.dims:
        problems.append(f"{vector_col} has empty arrays")
    if duplicates is not None and duplicates.count:
        problems.append(
            f"{duplicates.count} duplicate {id_col} values among {duplicates.among} rows (e.g. "
            + ", ".join(f"{v!r} x{c}" for v, c in duplicates.examples)
            + ")"
        )
    if problems:
        raise DataError(f"{where}: " + "; ".join(problems))
