"""The metric formulas, by hand."""

from __future__ import annotations

import math

import pytest

from pipelines.eval.metrics import auc_from_bins, entropy


def test_auc_from_bins_by_hand():
    # bins in increasing score: (pos, neg) = (0, 1), (1, 1), (1, 0). Of the 2 x 2 (pos, neg) pairs the
    # positive of bin 1 beats the negative of bin 0 and ties the one of bin 1 (half), and the positive of
    # bin 2 beats both: (1 + 0.5 + 2) / 4.
    assert auc_from_bins([0, 1, 1], [1, 1, 0]) == pytest.approx(3.5 / 4)
    assert auc_from_bins([0, 2], [3, 0]) == 1.0
    assert math.isnan(auc_from_bins([0, 0], [1, 2]))


def test_entropy_is_the_logloss_of_the_base_rate():
    assert entropy(0.5) == pytest.approx(math.log(2))
    assert entropy(0.2) == pytest.approx(-(0.2 * math.log(0.2) + 0.8 * math.log(0.8)))
