"""Bad input: a ValueError (MotifAttributionInputError) naming the example index and the problem."""

import numpy as np
import pytest

from regsim.metrics import AttributionAccumulator, MotifAttributionInputError, score_attributions

GOOD = [0.1, 0.5, 0.2, 0.9]
MASK = [0, 1, 0, 0]


def _raises(match, *args, **kwargs):
    with pytest.raises(MotifAttributionInputError, match=match) as caught:
        score_attributions(*args, **kwargs)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_mismatched_counts():
    _raises(r"got 3 predictions but 2 references", [GOOD] * 3, [MASK] * 2)
    _raises(r"got 2 predictions but 1 sequences", [GOOD] * 2, [MASK] * 2, sequences=["ACGT"])


def test_length_mismatch_names_the_example():
    _raises(r"example 2: predictions have length 3 but references have length 4",
            [GOOD, GOOD, GOOD[:3]], [MASK] * 3)
    _raises(r"example 1: predictions have length 2 but references have length 4; with kernel_size=2 "
            r"expected 4 \(per base\) or 3 \(conv layer\)",
            [GOOD, [0.1, 0.2]], [MASK] * 2, kernel_size=2)
    _raises(r"example 0: sequence has length 5 but references have length 4", [GOOD], [MASK], sequences=["ACGTA"])


def test_nan_and_inf():
    _raises(r"example 1: predictions contain NaN or infinite values", [GOOD, [0.1, np.nan, 0, 0]], [MASK] * 2)
    scores = np.ones((5, 4, 4), dtype=np.float32)
    scores[3, 2, 1] = np.inf
    _raises(r"example 3: predictions contain NaN or infinite values", scores, np.tile(MASK, (5, 1)))


def test_non_binary_mask():
    _raises(r"example 1: references must be a 0/1 mask, found the value 2", [GOOD] * 2, [MASK, [0, 2, 0, 0]])
    _raises(r"example 0: references must be a 0/1 mask, found the value 0.5", [GOOD], [[0, 0.5, 1, 0]])
    _raises(r"example 0: references must be a 0/1 mask, found the value nan", [GOOD], [[0, np.nan, 1, 0]])


def test_interval_problems():
    intervals = {"reference_format": "intervals"}
    _raises(r"example 1: interval 0 \[3, 6\) lies outside the sequence \[0, 4\)",
            [GOOD, GOOD], [[[0, 2]], [[3, 6]]], **intervals)
    _raises(r"example 0: interval 1 \[-1, 2\) lies outside", [GOOD], [[[0, 1], [-1, 2]]], **intervals)
    _raises(r"example 0: interval 0 \[2, 2\) is empty", [GOOD], [[[2, 2]]], **intervals)
    _raises(r"example 0: interval bounds must be integers", [GOOD], [[[0.5, 2]]], **intervals)
    _raises(r"example 0: references must be a list of \[start, end\) pairs", [GOOD], [[[0, 1, 2]]], **intervals)


def test_shape_and_option_problems():
    _raises(r"example 0: predictions have shape \(3, 3\)", [np.ones((3, 3))], [[0, 1, 0]])
    _raises(r"example 1: predictions have shape \(3, 5\); expected \(L,\), \(4, L\) or \(L, 4\)",
            [np.ones(5), np.ones((3, 5))], [[0, 1, 0, 0, 0]] * 2)
    _raises(r"example 0: channel_reduce='observed' needs sequences", [np.ones((4, 4))], [MASK],
            channel_reduce="observed")
    _raises(r"example 0: references must be a 0/1 mask of shape \(L,\)", [GOOD], [[MASK]])
    _raises(r"example 1: predictions must be numeric", [GOOD, ["a", "b", "c", "d"]], [MASK] * 2)


def test_accumulator_reports_global_indices():
    accumulator = AttributionAccumulator()
    accumulator.update([GOOD] * 3, [MASK] * 3)
    with pytest.raises(MotifAttributionInputError, match=r"example 4: predictions contain NaN"):
        accumulator.update([GOOD, [np.nan] * 4], [MASK] * 2)


def test_batched_scoring_reports_global_indices():
    predictions = [GOOD] * 10 + [[0.1, np.inf, 0, 0]]
    _raises(r"example 10: predictions contain NaN", predictions, [MASK] * 11, batch_size=4)
