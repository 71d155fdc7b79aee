"""Conv-layer attributions (length L - k + 1) mapped to bases."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from regsim.metrics import MotifAttributionInputError, score_attributions
from regsim.metrics.motif_attribution._base_resolution import linear_upsample, receptive_field_average


def test_receptive_field_average_hand_worked():
    # L = 6, k = 3: conv position j sees bases j..j+2.  Base 0 is seen by position 0 only, base 2
    # by positions 0, 1, 2, base 5 by position 3 only.
    conv = np.array([[1.0, 2.0, 4.0, 8.0]])
    expected = [1.0, (1 + 2) / 2, (1 + 2 + 4) / 3, (2 + 4 + 8) / 3, (4 + 8) / 2, 8.0]
    np.testing.assert_allclose(receptive_field_average(conv, 3), [expected], rtol=0, atol=1e-15)


def test_receptive_field_average_equals_explicit_loop():
    rng = np.random.default_rng(1)
    for k in (1, 2, 5, 8):
        conv = rng.standard_normal((3, 20))
        length = 20 + k - 1
        explicit = np.array([[np.mean([row[j] for j in range(20) if j <= i <= j + k - 1]) for i in range(length)]
                             for row in conv])
        np.testing.assert_allclose(receptive_field_average(conv, k), explicit, atol=1e-12)


def test_constant_layer_stays_exactly_constant():
    for value in (np.float32(0.1), np.float32(3.7e-5)):
        mapped = receptive_field_average(np.full((2, 193), value, dtype=np.float32), 8)
        assert mapped.dtype == np.float32 and np.all(mapped == value)
        linear = linear_upsample(np.full((2, 193), value, dtype=np.float32), 200)
        assert np.all(linear == value)
    result = score_attributions(np.full((3, 193), 0.1, dtype=np.float32),
                                np.tile(np.arange(200) % 7 == 0, (3, 1)), kernel_size=8)
    assert result["auroc_mean"] == 0.5 and result["auroc_pooled"] == 0.5


def test_linear_mapping_with_kernel_size_uses_receptive_field_centres():
    # k = 3: conv position j sits at base j + 1; bases 0 and 5 hold the edge values.
    conv = np.array([[1.0, 2.0, 4.0, 8.0]])
    np.testing.assert_allclose(linear_upsample(conv, 6, kernel_size=3), [[1, 1, 2, 4, 8, 8]])
    conv = np.array([[0.0, 2.0]])
    np.testing.assert_allclose(linear_upsample(conv, 5, kernel_size=4), [[0, 0, 1, 2, 2]])


def test_linear_mapping_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for source, target in [(17, 40), (193, 200), (50, 50 * 4), (64, 33)]:
        conv = rng.standard_normal((4, source))  # float64: torch then computes coordinates in float64
        expected = torch.nn.functional.interpolate(
            torch.from_numpy(conv)[:, None, :], size=target, mode="linear", align_corners=False
        )[:, 0, :].numpy()
        np.testing.assert_allclose(linear_upsample(conv, target), expected, rtol=0, atol=1e-12)


def test_scoring_conv_attributions_equals_scoring_the_mapped_ones():
    rng = np.random.default_rng(3)
    conv = rng.random((10, 93)).astype(np.float32)
    mask = rng.random((10, 100)) < 0.2
    mask[:, 50] = True
    mapped = receptive_field_average(conv, 8)
    direct = score_attributions(conv, mask, kernel_size=8, return_per_sequence=True)
    assert direct == score_attributions(mapped, mask, return_per_sequence=True)
    assert direct["per_sequence"]["auroc"] == pytest.approx([roc_auc_score(m, s) for m, s in zip(mask, mapped)])
    linear = score_attributions(conv, mask, kernel_size=8, conv_mapping="linear")
    assert linear == score_attributions(linear_upsample(conv, 100, kernel_size=8), mask)
    resized = score_attributions(conv, mask, conv_mapping="linear")  # no kernel_size: any length
    assert resized == score_attributions(linear_upsample(conv, 100), mask)


def test_base_level_input_is_left_alone_when_kernel_size_is_given():
    scores = [[0.1, 0.9, 0.8, 0.2, 0.0]]
    mask = [[0, 1, 1, 0, 0]]
    assert repr(score_attributions(scores, mask, kernel_size=3)) == repr(score_attributions(scores, mask))


def test_interval_references_take_length_from_kernel_size():
    conv = [[0.0, 3.0, 0.0]]  # L = 3 + 3 - 1 = 5; mapped [0, 1.5, 1, 1.5, 0]
    result = score_attributions(conv, [[[1, 4]]], reference_format="intervals", kernel_size=3)
    assert result["auroc_mean"] == 1.0
    with pytest.raises(MotifAttributionInputError, match="sequence length is unknown"):
        score_attributions(conv, [[[1, 4]]], reference_format="intervals", conv_mapping="linear")
    given = score_attributions(conv, [[[1, 4]]], reference_format="intervals", conv_mapping="linear",
                               sequence_length=5)
    assert given["auroc_mean"] == 1.0
