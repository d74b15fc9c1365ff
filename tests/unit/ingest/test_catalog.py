"""Quarantine reasons are ranked by rows, most first (ties by name), whatever form they were stored in."""

from __future__ import annotations

from pipelines.ingest.catalog import ranked_reasons, reasons_text


def test_reasons_stored_as_an_object_with_sorted_keys_are_ranked_again():
    # catalog entries written before the ranking was a list hold {reason: rows} with sorted keys
    old = {"a: below min": 2, "b: pattern": 7, "c: missing required value": 2}
    assert ranked_reasons(old) == [
        {"reason": "b: pattern", "rows": 7},
        {"reason": "a: below min", "rows": 2},
        {"reason": "c: missing required value", "rows": 2},
    ]
    assert reasons_text(old, 2, " rows") == "b: pattern (7 rows), a: below min (2 rows)"


def test_a_ranked_list_keeps_its_order_and_nothing_is_empty():
    ranked = [{"reason": "z", "rows": 1200}, {"reason": "a", "rows": 3}]
    assert ranked_reasons(ranked) == ranked
    assert reasons_text(ranked, 3) == "z (1,200), a (3)"
    assert ranked_reasons(None) == [] and reasons_text({}, 3) == ""
