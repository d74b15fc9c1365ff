"""ordered_map: a function over items on a bounded pool of threads, results in the items' order.

For work that releases the GIL (pyarrow decoding Parquet, numpy copies): several items are computed at
once while the caller consumes the results one by one, in the order it would have computed them itself,
so the output is the same as a plain loop's. At most `in_flight` results are computed or being computed
and not yet taken by the caller, so memory stays bounded however slow the caller is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], *, threads: int, in_flight: int | None = None, name: str = "ordered"
) -> Iterator[R]:
    """fn(item) for every item, by `threads` threads, yielded in the items' order.

    `in_flight` (default `threads`) bounds the results submitted and not yet yielded. An exception raised
    by fn is raised here, when its result's turn comes, and no further item is started. Closing the
    iterator early cancels what has not started and waits for what has."""
    if threads < 1:
        raise ValueError(f"ordered_map needs threads >= 1, got {threads}")
    in_flight = threads if in_flight is None else in_flight
    if in_flight < 1:
        raise ValueError(f"ordered_map needs in_flight >= 1, got {in_flight}")
    todo = iter(items)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name) as pool:
        pending = deque(pool.submit(fn, item) for _, item in zip(range(in_flight), todo, strict=False))
        try:
            while pending:
                result = pending.popleft().result()
                for item in todo:  # refill before handing the result over: the pool works while the caller does
                    pending.append(pool.submit(fn, item))
                    break
                yield result
        finally:
            for future in pending:
                future.cancel()
