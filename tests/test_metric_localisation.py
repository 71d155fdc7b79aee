"""Localisation metrics and motif-instance recall: hand-computed cases and brute force."""

import itertools
import math

import numpy as np
import pytest

from regsim.metrics import score_attributions


def _per_sequence(scores, mask, **kwargs):
    return score_attributions([scores], [mask], return_per_sequence=True, **kwargs)["per_sequence"]


def test_relevance_mass_accuracy_by_hand():
    # |scores| = [1, 2, 3, 4]; motif = bases 0, 1: (1 + 2) / 10.
    assert _per_sequence([1.0, -2.0, 3.0, 4.0], [1, 1, 0, 0])["relevance_mass_accuracy"] == [0.3]
    # abs=False keeps only positive relevance: (0 + 0) / (3 + 4).
    assert _per_sequence([1.0, -2.0, 3.0, 4.0], [0, 1, 0, 0], abs=False)["relevance_mass_accuracy"] == [0.0]
    # No relevance at all: chance level |motif| / L.
    assert _per_sequence([0.0, 0.0, 0.0, 0.0], [0, 1, 1, 1])["relevance_mass_accuracy"] == [0.75]


def test_rank_accuracy_top_k_and_pointing_by_hand():
    scores = [0.9, 0.1, 0.8, 0.8, 0.8, 0.2]
    mask = [1, 0, 0, 1, 0, 0]
    values = _per_sequence(scores, mask, top_k=3)
    # K = 2: the top-2 is 0.9 (motif) plus one of three tied 0.8 (one motif): 1 + 1/3 hits.
    assert values["relevance_rank_accuracy"] == [pytest.approx((1 + 1 / 3) / 2)]
    # top-3: 0.9 plus two of the three 0.8: 1 + 2/3 hits.
    assert values["top_k_precision"] == [pytest.approx((1 + 2 / 3) / 3)]
    assert values["pointing_game"] == [1.0]
    # The maximum tied over a motif base and two background bases: 1/3 of a hit.
    assert _per_sequence([0.5, 0.9, 0.9, 0.9], [0, 0, 1, 0])["pointing_game"] == [pytest.approx(1 / 3)]


def test_top_k_is_clipped_to_the_sequence():
    values = _per_sequence([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], top_k=10)
    assert values["top_k_precision"] == [0.5]


def test_pointing_tolerance():
    scores = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    mask = [0, 1, 1, 0, 0, 0, 0, 0]  # maximum at base 5, motif ends at base 2
    assert _per_sequence(scores, mask)["pointing_game"] == [0.0]
    assert _per_sequence(scores, mask, pointing_tolerance=2)["pointing_game"] == [0.0]
    assert _per_sequence(scores, mask, pointing_tolerance=3)["pointing_game"] == [1.0]
    tied = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert _per_sequence(tied, mask, pointing_tolerance=1)["pointing_game"] == [0.5]


def _brute_force_top_hits(scores, mask, k):
    """Average hits in the top k over every order consistent with the scores."""
    hits = []
    for permutation in itertools.permutations(range(len(scores))):
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], permutation[i]))
        hits.append(sum(mask[i] for i in order[:k]))
    return float(np.mean(hits))


def test_tie_aware_counts_equal_brute_force_over_tie_breaks():
    rng = np.random.default_rng(4)
    for _ in range(25):
        scores = rng.integers(0, 3, size=6).astype(float)
        mask = (rng.random(6) < 0.4).astype(int)
        mask[rng.integers(6)] = 1
        if mask.all():
            mask[0] = 0
        k_motif = int(mask.sum())
        values = _per_sequence(scores, mask, top_k=3)
        assert values["relevance_rank_accuracy"][0] == pytest.approx(
            _brute_force_top_hits(scores, mask, k_motif) / k_motif)
        assert values["top_k_precision"][0] == pytest.approx(_brute_force_top_hits(scores, mask, 3) / 3)
        assert values["pointing_game"][0] == pytest.approx(_brute_force_top_hits(scores, mask, 1))


def test_means_run_over_scored_sequences_only():
    result = score_attributions(
        [[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.5, 0.5, 0.5]], [[1, 0, 0], [1, 0, 0], [0, 0, 0]],
    )
    assert result["n_scored"] == 2
    assert result["pointing_game"] == 0.5
    assert result["pointing_game_sem"] == pytest.approx(0.5)  # std([1, 0], ddof=1) / sqrt(2)


def _interval_result(predictions, intervals, **kwargs):
    return score_attributions(predictions, intervals, reference_format="intervals",
                              return_per_sequence=True, **kwargs)


def test_motif_recall_by_hand():
    # L = 10, instance [4, 7) of width 3; motif-free windows of width 3: starts 0, 1 and 7.
    scores = [0.0, 0.5, 0.0, 0.0, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1]
    result = _interval_result([scores], [[[4, 7]]])
    # Window means: start 0 -> 1/6, start 1 -> 1/6, start 7 -> 0.1; instance 0.2 beats all three.
    assert result["per_instance"]["percentile"] == [1.0]
    assert result["motif_recall"] == 1.0
    # Ties count one half: windows 0 and 1 tie with the instance, window 7 is below:
    # (1 + 0.5 * 2) / 3 = 2/3 < 0.9, not recovered.  (Window means are
    # compared exactly: dyadic values here, so 0.75 + 0 + 0 equals 0.25 + 0.25 + 0.25.)
    tied = [0.0, 0.75, 0.0, 0.0, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125]
    result = _interval_result([tied], [[[4, 7]]])
    assert result["per_instance"]["percentile"] == [pytest.approx(2 / 3)]
    assert result["motif_recall"] == 0.0
    assert _interval_result([tied], [[[4, 7]]], recall_quantile=0.6)["motif_recall"] == 1.0


def test_instances_without_background_are_counted_not_scored():
    result = _interval_result([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]], [[[0, 3]], [[1, 2], [0, 1]]])
    # Sequence 0: the only other width-3 window [1, 4) overlaps the motif.  Sequence 1: width-1
    # windows at bases 2 and 3 are free.
    assert result["n_instances"] == 3
    assert result["n_instances_skipped"] == 1
    assert result["per_instance"]["sequence"] == [0, 1, 1]
    assert result["per_instance"]["start"] == [0, 0, 1]
    percentile = result["per_instance"]["percentile"]
    assert math.isnan(percentile[0]) and percentile[1:] == [0.0, 0.0]
    assert result["motif_recall"] == 0.0


def _brute_force_percentiles(scores, intervals):
    length = len(scores)
    covered = np.zeros(length, bool)
    for s, e in intervals:
        covered[s:e] = True
    out = []
    for s, e in intervals:
        w = e - s
        own = np.mean(scores[s:e])
        background = [np.mean(scores[b:b + w]) for b in range(length - w + 1) if not covered[b:b + w].any()]
        if not background:
            out.append(np.nan)
            continue
        below = sum(v < own for v in background)
        equal = sum(v == own for v in background)
        out.append((below + 0.5 * equal) / len(background))
    return out


def test_motif_recall_equals_brute_force():
    rng = np.random.default_rng(8)
    predictions, intervals, expected = [], [], []
    for _ in range(30):
        length = int(rng.integers(20, 40))
        scores = rng.integers(0, 5, size=length) / 4  # dyadic: exact window sums, frequent ties
        pairs = []
        for _ in range(int(rng.integers(0, 4))):
            w = int(rng.integers(2, 7))
            s = int(rng.integers(0, length - w + 1))
            pairs.append([s, s + w])
        pairs.sort()
        predictions.append(scores)
        intervals.append(pairs)
        expected.extend(_brute_force_percentiles(scores, pairs))
    result = _interval_result(predictions, intervals)
    np.testing.assert_allclose(result["per_instance"]["percentile"], expected, atol=1e-12)
    scored = ~np.isnan(expected)
    assert result["n_instances"] == len(expected)
    assert result["motif_recall"] == pytest.approx(np.mean(np.array(expected)[scored] >= 0.9))


def test_constant_attribution_ties_every_window():
    # 0.1 is not dyadic: a running-sum difference would give windows different last bits.
    result = _interval_result([np.full(50, 0.1)], [[[10, 17], [30, 33]]])
    assert result["per_instance"]["percentile"] == [0.5, 0.5]
    assert result["motif_percentile_mean"] == 0.5


def test_interval_and_mask_formats_agree():
    rng = np.random.default_rng(9)
    scores = rng.random((12, 30)).astype(np.float32)
    intervals = [[[2, 8], [5, 11]], [[0, 4]], [], [[20, 30]]] * 3
    masks = np.zeros((12, 30), dtype=int)
    for row, pairs in enumerate(intervals):
        for s, e in pairs:
            masks[row, s:e] = 1
    by_mask = score_attributions(scores, masks)
    by_interval = score_attributions(scores, intervals, reference_format="intervals")
    for key, value in by_mask.items():
        assert by_interval[key] == pytest.approx(value, nan_ok=True), key
    assert by_interval["n_instances"] == 12
