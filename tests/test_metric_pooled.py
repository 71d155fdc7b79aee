"""Pooled metrics: the exact merge of batches and the bounded-memory histogram."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from regsim.metrics import AttributionAccumulator, score_attributions
from regsim.metrics.motif_attribution._pooled import HistogramPooled
from regsim.metrics.motif_attribution._ranking import table_metrics


def _motif_data(rng, n, length, signed=False):
    """Attribution-like data: background noise, motif bases shifted up by a random amount."""
    mask = np.zeros((n, length), dtype=bool)
    for row in range(n):
        for start in rng.integers(0, length - 12, size=2):
            mask[row, start:start + 12] = True
    scores = rng.standard_normal((n, length)) + mask * rng.gamma(1.0, 1.0, size=(n, 1))
    scores = scores.astype(np.float32)
    return (scores if signed else np.abs(scores)), mask


@pytest.mark.parametrize("signed", [False, True])
def test_histogram_error_is_below_1e_4_and_within_its_bound(signed):
    rng = np.random.default_rng(12)
    scores, mask = _motif_data(rng, 2000, 300, signed)
    exact = score_attributions(scores, mask, abs=False, pooled="exact")
    binned = score_attributions(scores, mask, abs=False, pooled="histogram", batch_size=300)
    assert exact["auroc_pooled"] == pytest.approx(roc_auc_score(mask.ravel(), scores.ravel()), abs=1e-9)
    for name in ("auroc", "auprc"):
        error = abs(binned[f"{name}_pooled"] - exact[f"{name}_pooled"])
        bound = binned[f"{name}_pooled_error_bound"]
        assert error < 1e-4, name
        assert error <= bound + 1e-12, name
        assert 0 < bound < 1e-3, name
    # Per-sequence metrics never use the histogram.
    for name in ("auroc_mean", "auprc_mean", "relevance_rank_accuracy", "n_scored"):
        assert binned[name] == exact[name]


def test_histogram_is_exact_when_every_bin_holds_one_value():
    rng = np.random.default_rng(13)
    scores = (rng.integers(0, 50, size=(300, 80)) / 8).astype(np.float32)  # few distinct values
    mask = rng.random((300, 80)) < 0.2
    binned = score_attributions(scores, mask, pooled="histogram")
    assert binned["auroc_pooled_error_bound"] == 0.0 and binned["auprc_pooled_error_bound"] == 0.0
    assert binned["auroc_pooled"] == pytest.approx(roc_auc_score(mask.ravel(), scores.ravel()), abs=1e-12)
    assert binned["auprc_pooled"] == pytest.approx(average_precision_score(mask.ravel(), scores.ravel()), abs=1e-12)


def test_error_bound_holds_when_bins_are_coarse():
    rng = np.random.default_rng(14)
    scores, mask = _motif_data(rng, 300, 100)
    exact = score_attributions(scores, mask)
    for bits in (2, 5, 8):
        binned = score_attributions(scores, mask, pooled="histogram", histogram_bits=bits)
        for name in ("auroc", "auprc"):
            error = abs(binned[f"{name}_pooled"] - exact[f"{name}_pooled"])
            assert error <= binned[f"{name}_pooled_error_bound"] + 1e-12, (bits, name)


def test_histogram_orders_negative_zero_and_positive_scores():
    values = np.array([-3.0, -1.0, -1e-30, -0.0, 0.0, 1e-30, 1.0, 3.0, 1e30])
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1, 1], dtype=bool)
    histogram = HistogramPooled(mantissa_bits=10)
    histogram.add(values[::-1].copy(), labels[::-1].copy())
    n_pos, n_neg, mixed = histogram.table()
    # +-1e-30 are normal float32 numbers and keep their own bins; -0.0 and 0.0 share one (they are
    # equal scores).
    assert list(n_pos) == [0, 1, 0, 1, 1, 0, 1, 1]
    assert list(n_neg) == [1, 0, 1, 1, 0, 1, 0, 0]
    assert not mixed.any()
    assert table_metrics(n_pos, n_neg) == pytest.approx(
        (roc_auc_score(labels, values), average_precision_score(labels, values)), abs=1e-12)


def test_exact_pooled_merges_batches_of_every_score_type():
    rng = np.random.default_rng(15)
    batches = [
        np.abs(rng.standard_normal((5, 30))).astype(np.float32),  # uint32 keys
        rng.standard_normal((5, 30)).astype(np.float32),  # uint64 keys
        rng.standard_normal((5, 30)),  # float64, not float32-exact: argsort path
        np.round(rng.standard_normal((5, 30)), 1).astype(np.float32),  # ties
    ]
    masks = [rng.random((5, 30)) < 0.3 for _ in batches]
    accumulator = AttributionAccumulator(pooled="exact", abs=False)
    for scores, mask in zip(batches, masks):
        accumulator.update(scores, mask)
    result = accumulator.compute()
    all_scores = np.concatenate([b.astype(np.float64).ravel() for b in batches])
    all_masks = np.concatenate([m.ravel() for m in masks])
    assert result["auroc_pooled"] == pytest.approx(roc_auc_score(all_masks, all_scores), abs=1e-12)
    assert result["auprc_pooled"] == pytest.approx(average_precision_score(all_masks, all_scores), abs=1e-12)


def test_histogram_memory_is_set_by_the_octaves_the_scores_span():
    rng = np.random.default_rng(16)
    accumulator = AttributionAccumulator(histogram_bits=12)
    seen = set()
    for scale in (1.0, 1.0, 1e3, 1.0):
        scores, mask = _motif_data(rng, 200, 200)
        scores *= np.float32(scale)
        accumulator.update(scores, mask)
        seen |= set(np.unique(np.frexp(scores[scores > 0])[1]).tolist()) | ({"zero"} if (scores == 0).any() else set())
        pooled = accumulator._pooled
        # One block of 2**12 bins (two int64 counts, float64 min and max) per occupied power of two.
        assert pooled.nbytes == len(pooled._blocks) * 32 * 2**12
        assert len(pooled._blocks) == len(seen)
