"""ordered_map: results in the items' order, computed concurrently, never more than in_flight ahead of the
caller, errors raised at their turn, early close stops the work."""

from __future__ import annotations

import threading
import time

import pytest

from pipelines.common.ordered_pool import ordered_map


def test_results_come_in_item_order_though_finished_out_of_order():
    def slow_first(i: int) -> int:
        time.sleep(0.05 if i % 3 == 0 else 0.0)
        return i * i

    assert list(ordered_map(slow_first, range(20), threads=3)) == [i * i for i in range(20)]


def test_items_run_concurrently():
    threads = 3
    barrier = threading.Barrier(threads, timeout=10)  # breaks (an error) unless `threads` calls wait at once

    def meet(i: int) -> int:
        barrier.wait()
        return i

    assert list(ordered_map(meet, range(2 * threads), threads=threads)) == list(range(2 * threads))


@pytest.mark.parametrize(("threads", "in_flight"), [(2, None), (2, 3), (4, 1)])
def test_at_most_in_flight_results_ahead_of_a_slow_caller(threads, in_flight):
    started, taken, ahead = [0], [0], []
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            started[0] += 1
            ahead.append(started[0] - taken[0])
        return i

    for _ in ordered_map(work, range(30), threads=threads, in_flight=in_flight):
        time.sleep(0.005)  # the caller is the slow side: the pool runs ahead as far as it may
        with lock:
            taken[0] += 1
    bound = in_flight or threads
    assert max(ahead) <= bound + 1  # the result being handed over is counted until the caller takes it
    assert max(ahead) >= bound  # and the pool did run ahead that far


def test_an_error_is_raised_at_its_turn_and_stops_further_items():
    calls = []

    def fail_at_five(i: int) -> int:
        calls.append(i)
        if i == 5:
            raise OSError("disk gone")
        return i

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for x in ordered_map(fail_at_five, range(100), threads=2, in_flight=2):
            got.append(x)
    assert got == [0, 1, 2, 3, 4]
    assert max(calls) <= 5 + 2  # nothing is started past what was in flight when the error surfaced


def test_closing_early_stops_submitting():
    calls = []
    it = ordered_map(calls.append, range(1000), threads=2, in_flight=2)
    next(it)
    it.close()
    assert len(calls) <= 4


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="threads >= 1"):
        list(ordered_map(str, [1], threads=0))
    with pytest.raises(ValueError, match="in_flight >= 1"):
        list(ordered_map(str, [1], threads=1, in_flight=0))
