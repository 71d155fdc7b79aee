"""The scoring core against scikit-learn, on random data with ties, in every input form."""

import math
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from regsim.metrics import AttributionAccumulator, MotifAttributionInputError, score_attributions


def _random_case(rng, n=60, length=50, dtype=np.float32, ties=True, signed=False):
    scores = rng.standard_normal((n, length))
    if ties:
        scores = np.round(scores * 2) / 2  # about a dozen distinct values: many ties
    if not signed:
        scores = np.abs(scores)
    scores = scores.astype(dtype)
    mask = rng.random((n, length)) < rng.uniform(0.05, 0.5, size=(n, 1))
    mask[0] = False  # no motif: skipped
    mask[1] = True  # all motif: skipped
    return scores, mask


def _sklearn_per_sequence(scores, mask):
    auroc, auprc = [], []
    for s, m in zip(scores, mask):
        if m.all() or not m.any():
            auroc.append(np.nan)
            auprc.append(np.nan)
        else:
            auroc.append(roc_auc_score(m, s))
            auprc.append(average_precision_score(m, s))
    return np.array(auroc), np.array(auprc)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ties", [True, False])
@pytest.mark.parametrize("signed", [False, True])
def test_matches_sklearn_per_sequence_and_pooled(dtype, ties, signed):
    rng = np.random.default_rng(7)
    scores, mask = _random_case(rng, dtype=dtype, ties=ties, signed=signed)
    result = score_attributions(scores, mask.astype(np.int8), abs=False, return_per_sequence=True)
    auroc, auprc = _sklearn_per_sequence(scores, mask)
    np.testing.assert_allclose(result["per_sequence"]["auroc"], auroc, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result["per_sequence"]["auprc"], auprc, rtol=0, atol=1e-9)
    assert result["auroc_pooled"] == pytest.approx(roc_auc_score(mask.ravel(), scores.ravel()), abs=1e-9)
    assert result["auprc_pooled"] == pytest.approx(average_precision_score(mask.ravel(), scores.ravel()), abs=1e-9)
    scored = ~np.isnan(auroc)
    assert result["n_scored"] == scored.sum() and scored.sum() >= len(scores) // 2
    assert result["n_skipped"] == (~scored).sum() >= 2
    assert result["auroc_mean"] == pytest.approx(auroc[scored].mean(), abs=1e-12)
    assert result["auprc_sem"] == pytest.approx(auprc[scored].std(ddof=1) / math.sqrt(scored.sum()), abs=1e-12)


def test_rows_with_and_without_ties_in_one_batch():
    rng = np.random.default_rng(21)
    scores, mask = _random_case(rng, n=80, length=70, ties=False)
    scores[::3] = np.round(scores[::3] * 3) / 3  # every third row full of ties
    result = score_attributions(scores, mask, return_per_sequence=True, top_k=5)
    auroc, auprc = _sklearn_per_sequence(scores, mask)
    np.testing.assert_allclose(result["per_sequence"]["auroc"], auroc, atol=1e-12)
    np.testing.assert_allclose(result["per_sequence"]["auprc"], auprc, atol=1e-12)
    one_by_one = [score_attributions(s[None], m[None], top_k=5, return_per_sequence=True)["per_sequence"]
                  for s, m in zip(scores, mask)]
    for name in ("relevance_rank_accuracy", "top_k_precision", "pointing_game"):
        np.testing.assert_array_equal(result["per_sequence"][name], [v[name][0] for v in one_by_one])


def test_float64_scores_that_float32_would_merge_stay_distinct():
    # 1 + 1e-12 and 1 are one float32 value; the float64 path must still order them.
    scores = np.array([[1.0, 1.0 + 1e-12, 0.5, 1.0 + 2e-12]])
    mask = np.array([[0, 1, 0, 1]])
    result = score_attributions(scores, mask)
    assert result["auroc_mean"] == 1.0
    assert result["auroc_pooled"] == roc_auc_score(mask[0], scores[0]) == 1.0


def test_constant_scores_give_half_and_prevalence():
    mask = np.array([[0, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]])
    result = score_attributions(np.full((2, 6), 0.25, dtype=np.float32), mask, return_per_sequence=True)
    assert result["per_sequence"]["auroc"] == [0.5, 0.5]
    # One threshold: precision = prevalence, as in average_precision_score.
    assert result["per_sequence"]["auprc"] == pytest.approx([2 / 6, 1 / 6], abs=1e-15)
    assert result["per_sequence"]["auprc"][0] == pytest.approx(average_precision_score(mask[0], np.ones(6)))
    assert result["auroc_pooled"] == 0.5


def test_variable_lengths_match_sklearn():
    rng = np.random.default_rng(3)
    lengths = [30, 45, 30, 80, 12, 45]
    scores = [np.round(rng.standard_normal(n), 1) for n in lengths]
    masks = [(rng.random(n) < 0.3).astype(int) for n in lengths]
    for m in masks:
        m[0], m[-1] = 1, 0
    result = score_attributions(scores, masks, return_per_sequence=True, batch_size=4)
    expected = [roc_auc_score(m, np.abs(s)) for s, m in zip(scores, masks)]
    np.testing.assert_allclose(result["per_sequence"]["auroc"], expected, atol=1e-12)
    flat_s = np.abs(np.concatenate(scores))
    flat_m = np.concatenate(masks)
    assert result["auroc_pooled"] == pytest.approx(roc_auc_score(flat_m, flat_s), abs=1e-12)
    assert result["auprc_pooled"] == pytest.approx(average_precision_score(flat_m, flat_s), abs=1e-12)


def test_containers_and_layouts_agree():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    per_channel = rng.standard_normal((20, 4, 33)).astype(np.float32)
    mask = rng.random((20, 33)) < 0.3
    mask[:, 0] = True
    reference = score_attributions(per_channel, mask)
    variants = {
        "list of (4, L)": (list(per_channel), list(mask)),
        "(N, L, 4)": (per_channel.transpose(0, 2, 1), mask),
        "list of (L, 4)": ([p.T for p in per_channel], [m.astype(float) for m in mask]),
        "torch": (torch.from_numpy(per_channel), torch.from_numpy(mask)),
        "summed (N, L)": (per_channel.sum(axis=1), mask.astype(np.int64)),
        "nested lists": (per_channel.tolist(), mask.astype(int).tolist()),
    }
    for name, (predictions, references) in variants.items():
        result = score_attributions(predictions, references)
        for key, value in reference.items():
            assert result[key] == pytest.approx(value, abs=1e-6, nan_ok=True), (name, key)


def test_channel_reduce_options_by_hand():
    attribution = np.array(
        [[0.5, 0.0, 0.0, 0.1],   # A
         [0.0, -2.0, 0.0, 0.0],  # C
         [0.0, 0.0, 0.3, 0.0],   # G
         [0.2, 0.0, -0.4, 0.0]], dtype=np.float32)  # T
    mask = [[0, 1, 0, 0]]
    one = {"return_per_sequence": True, "top_k": 1}
    summed = score_attributions([attribution], mask, **one)
    observed = score_attributions([attribution], mask, channel_reduce="observed", sequences=["TCGA"], **one)
    one_hot = np.eye(4, dtype=np.float32)[[3, 1, 2, 0]].T
    observed_onehot = score_attributions([attribution], mask, channel_reduce="observed", sequences=[one_hot], **one)
    max_abs = score_attributions([attribution], mask, channel_reduce="max_abs", abs=False, **one)
    # sum: |[0.7, -2, -0.1, 0.1]| -> [0.7, 2, 0.1, 0.1]: base 1 on top.
    assert summed["top_k_precision"] == 1.0
    # observed (T, C, G, A): [0.2, -2, 0.3, 0.1] -> |.| ranks base 1 first.
    assert observed["per_sequence"]["auroc"] == observed_onehot["per_sequence"]["auroc"] == [1.0]
    # max_abs keeps the sign: [0.5, -2, -0.4, 0.1] with abs=False puts base 1 last.
    assert max_abs["per_sequence"]["auroc"] == [0.0]
    assert max_abs["relevance_mass_accuracy"] == 0.0


def test_observed_ignores_non_acgt_bases():
    attribution = np.ones((4, 5), dtype=np.float32)
    result = score_attributions([attribution], [[0, 0, 1, 0, 0]], channel_reduce="observed",
                                sequences=["ANGTN"], return_per_sequence=True)
    # Scores [1, 0, 1, 1, 0]: the motif base ties with 2 background bases above 2 zeros.
    assert result["per_sequence"]["auroc"] == [roc_auc_score([0, 0, 1, 0, 0], [1, 0, 1, 1, 0])]


def test_abs_default_scores_magnitude():
    scores = [[-5.0, 0.1, 0.2, 0.3]]
    mask = [[1, 0, 0, 0]]
    assert score_attributions(scores, mask)["auroc_mean"] == 1.0
    assert score_attributions(scores, mask, abs=False)["auroc_mean"] == 0.0


@pytest.mark.parametrize("pooled", ["exact", "histogram"])
def test_output_is_identical_whatever_the_batch_size(pooled):
    rng = np.random.default_rng(11)
    scores, mask = _random_case(rng, n=97, length=40, ties=False)
    results = [
        score_attributions(scores, mask, pooled=pooled, batch_size=b, return_per_sequence=True)
        for b in (1, 7, 50, None)
    ]
    accumulator = AttributionAccumulator(pooled=pooled)
    for start, stop in [(0, 3), (3, 60), (60, 61), (61, 97)]:
        accumulator.update(scores[start:stop], mask[start:stop])
    results.append(accumulator.compute(return_per_sequence=True))
    first = repr(results[0])  # repr: NaN == NaN and exact float digits
    assert all(repr(r) == first for r in results[1:])


def test_outputs_are_python_numbers():
    rng = np.random.default_rng(2)
    scores, mask = _random_case(rng, n=10, length=20)
    result = score_attributions(scores, mask, return_per_sequence=True)
    per_sequence = result.pop("per_sequence")
    assert all(type(v) in (float, int) for v in result.values())
    assert {type(v) for values in per_sequence.values() for v in values} == {float}
    assert type(result["n_scored"]) is int and type(result["auroc_mean"]) is float


def test_nothing_scorable_gives_nan_not_a_crash():
    result = score_attributions([[0.1, 0.2, 0.3]], [[0, 0, 0]])
    assert result["n_scored"] == 0 and result["n_skipped"] == 1
    assert math.isnan(result["auroc_mean"]) and math.isnan(result["auroc_pooled"])
    assert math.isnan(score_attributions([[0.1, 0.2]], [[1, 0]])["auroc_sem"])  # one sequence: no SEM


def test_bad_option_values():
    with pytest.raises(MotifAttributionInputError, match="channel_reduce"):
        score_attributions([[1.0]], [[1]], channel_reduce="mean")
    with pytest.raises(MotifAttributionInputError, match="pooled"):
        score_attributions([[1.0]], [[1]], pooled="approximate")
    with pytest.raises(MotifAttributionInputError, match="top_k"):
        score_attributions([[1.0]], [[1]], top_k=0)


def test_importing_metrics_stays_light():
    code = (
        "import sys; import metrics; "
        "print(sorted(m for m in ('torch', 'evaluate', 'datasets', 'sklearn', 'pyarrow', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
