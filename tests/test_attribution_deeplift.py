"""DeepLIFT / DeepSHAP: summation-to-delta on conv-ReLU-max-pool models (regsim's own presets included),
agreement with tangermeme's deep_lift_shap and with captum where captum is right, hypothetical
contributions, batch-size invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from regsim.models import RegCNNForSequenceClassification, preset_config
from regsim.models.attribution.deeplift import deeplift, deeplift_layer, deepshap, hypothetical_contributions
from regsim.models.attribution.references import make_references
from test_attribution_toys import other_nonlinearities_cnn, random_one_hot, sequential_cnn

TOLERANCE = 1e-4


def regcnn(name: str, length: int = 200, seed: int = 0):
    torch.manual_seed(seed)
    return RegCNNForSequenceClassification(preset_config(name, length)).eval()


@pytest.fixture(scope="module")
def basset():
    return regcnn("basset")


@pytest.fixture(scope="module")
def beluga():
    return regcnn("beluga")


@pytest.mark.parametrize("references", ["zeros", "shuffled", "base_freq", "gc_matched"])
def test_summation_to_delta_on_test_models(references):
    for model, length in [(sequential_cnn(64), 64), (other_nonlinearities_cnn(), 48)]:
        X = random_one_hot(6, length, seed=3)
        _, completeness = deeplift(model, X, references, n_refs=5, return_completeness=True)
        assert np.abs(completeness.output_difference).min() > 1e-3  # the check is not vacuous
        assert completeness.relative_error.max() <= TOLERANCE, completeness.summary()


@pytest.mark.parametrize("name", ["tiny", "basset", "beluga"])
def test_deepshap_summation_to_delta_on_regcnn_presets(name, request):
    model = request.getfixturevalue(name) if name != "tiny" else regcnn("tiny", 200)
    X = random_one_hot(3, 200, seed=7)
    attributions, completeness = deepshap(model, X, n_refs=8, return_completeness=True)
    assert completeness.relative_error.max() <= TOLERANCE, completeness.summary()
    # The saved (projected) attributions carry the same sums on ACGT-only sequences.
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), completeness.attribution_sum, rtol=1e-5, atol=1e-6)
    # The sums are the model's own output differences.
    refs = make_references(X, "shuffled", n_refs=8)
    with torch.no_grad():
        f_x = model.logits(torch.from_numpy(X)).numpy().ravel()
        f_r = model.logits(torch.from_numpy(refs.reshape(-1, 4, 200))).numpy().reshape(3, 8).mean(axis=1)
    np.testing.assert_allclose(completeness.output_difference, f_x - f_r, rtol=1e-5, atol=1e-6)


def test_deepshap_matches_tangermeme_deep_lift_shap(basset):
    from tangermeme.deep_lift_shap import deep_lift_shap

    for model, length in [(basset, 200), (sequential_cnn(64), 64)]:
        X = random_one_hot(4, length, seed=11)
        refs = make_references(X, "shuffled", n_refs=10, random_state=5)
        ours = deepshap(model, X, refs)
        ours_hyp = deepshap(model, X, refs, hypothetical=True)
        module = model.logit_module() if hasattr(model, "logit_module") else model
        theirs = deep_lift_shap(module, torch.from_numpy(X), references=torch.from_numpy(refs), device="cpu",
                                batch_size=20).numpy()
        theirs_hyp = deep_lift_shap(module, torch.from_numpy(X), references=torch.from_numpy(refs), device="cpu",
                                    batch_size=20, hypothetical=True).numpy()
        for i in range(len(X)):
            r = np.corrcoef(ours[i].sum(axis=0), theirs[i].sum(axis=0))[0, 1]
            assert r >= 0.99, (i, r)
        scale = np.abs(theirs_hyp).max()
        np.testing.assert_allclose(ours_hyp, theirs_hyp, atol=1e-4 * scale)


def test_matches_captum_deeplift_where_captum_is_right():
    """Without max pooling captum's DeepLift is exact; with a zero baseline both give m * x."""
    from captum.attr import DeepLift

    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv1d(4, 6, 5), nn.ReLU(), nn.Conv1d(6, 4, 3), nn.Sigmoid(), nn.Flatten(),
                          nn.Linear(4 * 26, 8), nn.ReLU(), nn.Linear(8, 1)).eval()
    X = random_one_hot(5, 32, seed=1)
    theirs = DeepLift(model).attribute(torch.from_numpy(X), baselines=torch.zeros(1, 4, 32)).detach().numpy()
    ours = deeplift(model, X, "zeros")
    np.testing.assert_allclose(ours, theirs, atol=1e-6 * np.abs(theirs).max())


def test_max_pool_rule_is_exact_where_the_plain_gradient_is_not():
    """One window: y = max(x). The gradient gives the whole change to x's arg-max; the rule splits it
    between x's and the reference's arg-max, which is the only way the sum can equal y - y_ref."""
    model = nn.Sequential(nn.Conv1d(4, 1, 1, bias=False), nn.MaxPool1d(4), nn.Flatten(), nn.Linear(1, 1)).eval()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 4, 1))
        model[3].weight.fill_(1.0)
        model[3].bias.zero_()
    X = np.eye(4, dtype=np.float32)[[0, 3, 1, 0]].T[None]  # A T C A: conv values 1 4 2 1, max 4 at position 1
    ref = np.eye(4, dtype=np.float32)[[3, 0, 0, 1]].T[None]  # T A A C: 4 1 1 2, max 4 at position 0
    out, completeness = deeplift(model, X, ref, return_completeness=True)
    # y - y_ref = 0: nothing to attribute, yet the two arg-maxes differ.
    assert completeness.output_difference[0] == pytest.approx(0.0)
    np.testing.assert_allclose(out, 0.0, atol=1e-7)
    ref2 = np.eye(4, dtype=np.float32)[[2, 0, 0, 0]].T[None]  # G A A A: 3 1 1 1, max 3 at position 0
    hyp, completeness = deeplift(model, X, ref2, hypothetical=True, return_completeness=True)
    assert completeness.output_difference[0] == pytest.approx(1.0)
    contributions = (hyp * X).sum(axis=1)[0]
    # x's arg-max (position 1) gets max(y, y_ref) - y_ref = 1; the reference's arg-max gets y - max = 0.
    np.testing.assert_allclose(contributions, [0.0, 1.0, 0.0, 0.0], atol=1e-6)


def test_hypothetical_contributions_formula_and_projection():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(3, 4, 10)).astype(np.float32)
    r = make_references(random_one_hot(3, 10), "shuffled", n_refs=1)[:, 0]
    hyp = hypothetical_contributions(m, r)
    for b in range(4):
        base = np.zeros_like(r)
        base[:, b] = 1
        np.testing.assert_allclose(hyp[:, b], (m * (base - r)).sum(axis=1), rtol=1e-6, atol=1e-6)
    torch_hyp = hypothetical_contributions(torch.from_numpy(m), torch.from_numpy(r)).numpy()
    np.testing.assert_allclose(torch_hyp, hyp, rtol=1e-6)


def test_hypothetical_times_input_is_the_contribution_and_refs_average():
    model = sequential_cnn(64)
    X = random_one_hot(3, 64, seed=4)
    refs = make_references(X, "shuffled", n_refs=4)
    hyp = deeplift(model, X, refs, hypothetical=True)
    contrib = deeplift(model, X, refs)
    np.testing.assert_allclose(contrib, hyp * X, rtol=1e-6, atol=1e-7)
    singles = np.mean([deeplift(model, X, refs[:, k], hypothetical=True) for k in range(4)], axis=0)
    np.testing.assert_allclose(hyp, singles, rtol=1e-5, atol=1e-6)


def test_batch_size_invariant_and_references_seeded_per_sequence():
    model = sequential_cnn(64)
    X = random_one_hot(7, 64, seed=5)
    full = deepshap(model, X, n_refs=6, batch_size=256)
    for batch_size in (1, 4, 13):  # 1 and 4 split each sequence's references over several passes
        np.testing.assert_allclose(deepshap(model, X, n_refs=6, batch_size=batch_size), full, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(deepshap(model, X[:3], n_refs=6), full[:3], rtol=1e-5, atol=1e-6)
    other_seed = deepshap(model, X, n_refs=6, random_state=1)
    assert np.abs(other_seed - full).max() > 1e-3


def test_off_simplex_changes_nothing_for_simplex_references_and_centres_zeros():
    model = sequential_cnn(64)
    X = random_one_hot(3, 64, seed=6)
    for refs in ("shuffled", "gc_matched"):
        np.testing.assert_allclose(deeplift(model, X, refs, n_refs=3, off_simplex=True, hypothetical=True),
                                   deeplift(model, X, refs, n_refs=3, hypothetical=True), rtol=1e-5, atol=1e-6)
    plain = deeplift(model, X, "zeros", hypothetical=True)  # = the multipliers
    corrected = deeplift(model, X, "zeros", hypothetical=True, off_simplex=True)
    np.testing.assert_allclose(corrected, plain - plain.mean(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_deeplift_at_the_first_conv_sums_to_delta_and_is_mapped_to_bases():
    model = regcnn("tiny", 60)
    X = random_one_hot(4, 60, seed=8)
    scores, completeness = deeplift_layer(model, X, "shuffled", n_refs=5, return_completeness=True)
    assert scores.shape == (4, 60)
    assert completeness.relative_error.max() <= TOLERANCE
    # receptive fields as the model's own config states them: position p reads [offset + p, offset + p + width)
    from regsim.models.attribution.receptive_field import receptive_field

    offset, width, stride = model.config.receptive_field(0)
    field = receptive_field(model, model.first_conv_activation, 60)
    p = np.arange(len(field.start))
    np.testing.assert_array_equal(field.start, np.clip(offset + p * stride, 0, 60))
    np.testing.assert_array_equal(field.stop, np.clip(offset + p * stride + width, 0, 60))


def test_rescale_rules_leave_the_model_unchanged():
    model = regcnn("tiny", 60)
    X = torch.from_numpy(random_one_hot(2, 60))
    with torch.no_grad():
        before = model.logits(X).clone()
    deepshap(model, X.numpy(), n_refs=2)
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())
    with torch.no_grad():
        assert torch.equal(model.logits(X), before)


# --- RevealCancel on the dense layers ("RSConv", deeplift_rsconv / deepshap_rsconv) -------------------

def _reveal_cancel_toy():
    """One dense ReLU unit on a 2-bp one-hot input: pre-activation 1 + 3 [A at 0] - 2 [C at 1] + 0.7 [G at 0]
    (+ 0.5 elsewhere), then an output weight of 2."""
    torch.manual_seed(0)
    dense = nn.Linear(8, 1)
    with torch.no_grad():
        dense.weight.fill_(0.5)
        dense.weight[0, 0] = 3.0    # (A, position 0); flattened index = base * 2 + position
        dense.weight[0, 3] = -2.0   # (C, position 1)
        dense.weight[0, 4] = 0.7    # (G, position 0)
        dense.bias.fill_(1.0)
        out = nn.Linear(1, 1)
        out.weight.fill_(2.0)
        out.bias.fill_(0.0)
    return nn.Sequential(nn.Flatten(), nn.Sequential(dense, nn.ReLU()), out).eval()


def test_reveal_cancel_toy_checked_by_hand():
    model = _reveal_cancel_toy()
    X = np.zeros((1, 4, 2), dtype=np.float32)
    X[0, 0, 0] = X[0, 1, 1] = 1.0  # "AC"
    # Zeros reference: r_pre = 1, d+ = 3, d- = -2, x_pre = 2; f = ReLU.
    #   Rescale:      multiplier (2 - 1) / (3 - 2) = 1      -> contributions 3 * 2, -2 * 2
    #   RevealCancel: dy+ = 1/2 (f(4) - f(1)) + 1/2 (f(2) - f(-1)) = 2.5
    #                 dy- = 1/2 (f(-1) - f(1)) + 1/2 (f(2) - f(4)) = -1.5
    #                 -> contributions 2.5 * 2, -1.5 * 2 (still summing to f(x) - f(r) = 2)
    rescale = deeplift(model, X, "zeros")
    reveal, completeness = deeplift(model, X, "zeros", rule="revealcancel", return_completeness=True)
    np.testing.assert_allclose(rescale[0, 0, 0], 6.0, rtol=1e-6)
    np.testing.assert_allclose(rescale[0, 1, 1], -4.0, rtol=1e-6)
    np.testing.assert_allclose(reveal[0, 0, 0], 5.0, rtol=1e-6)
    np.testing.assert_allclose(reveal[0, 1, 1], -3.0, rtol=1e-6)
    np.testing.assert_allclose(completeness.output_difference, [2.0], rtol=1e-6)
    np.testing.assert_allclose(completeness.attribution_sum, [2.0], rtol=1e-6)
    # An absent base (no change) takes the mean of both multipliers: G at 0 -> 0.7 * (2.5/3 + 0.75)/2 * 2.
    hyp = deeplift(model, X, "zeros", rule="revealcancel", hypothetical=True)
    np.testing.assert_allclose(hyp[0, 2, 0], 0.7 * (2.5 / 3 + 0.75) / 2 * 2, rtol=1e-6)


@pytest.mark.parametrize("name", ["tiny", "basset", "beluga"])
def test_reveal_cancel_summation_to_delta_on_presets(name, request):
    model = request.getfixturevalue(name) if name != "tiny" else regcnn("tiny", 200)
    X = random_one_hot(3, 200, seed=7)
    for references in ["shuffled", "zeros"]:
        attributions, completeness = deepshap(model, X, references, n_refs=6, rule="revealcancel",
                                              return_completeness=True)
        assert np.abs(completeness.output_difference).min() > 1e-3
        assert completeness.relative_error.max() <= TOLERANCE, completeness.summary()
        rescale = deepshap(model, X, references, n_refs=6)
        assert np.abs(attributions - rescale).max() > 1e-3 * np.abs(rescale).max()  # the rule changes something


def test_reveal_cancel_on_other_nonlinearities_and_without_dense_ones():
    from regsim.models.attribution.deeplift import dense_units

    # Softplus after a dense layer (and ReLU in the other toy): still exact.
    for model, length in [(sequential_cnn(64), 64), (other_nonlinearities_cnn(), 48)]:
        assert len(dense_units(model)) == 1
        X = random_one_hot(5, length, seed=3)
        _, completeness = deeplift(model, X, "shuffled", n_refs=4, rule="revealcancel", return_completeness=True)
        assert completeness.relative_error.max() <= TOLERANCE, completeness.summary()
    # No dense nonlinearity: RevealCancel changes nothing.
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv1d(4, 6, 5), nn.ReLU(), nn.MaxPool1d(4), nn.Flatten(), nn.Linear(6 * 15, 1)).eval()
    X = random_one_hot(3, 64, seed=2)
    assert dense_units(plain) == []
    np.testing.assert_array_equal(deeplift(plain, X, "zeros", rule="revealcancel"), deeplift(plain, X, "zeros"))


def test_reveal_cancel_batch_size_invariant():
    model, X = regcnn("tiny", 64), random_one_hot(3, 64, seed=2)
    a = deepshap(model, X, n_refs=5, rule="revealcancel", batch_size=5)
    b = deepshap(model, X, n_refs=5, rule="revealcancel", batch_size=64)
    np.testing.assert_allclose(a, b, atol=1e-6)


def _deeplift_package_reveal_cancel(weights, biases, x, r):
    """RevealCancel on a dense ReLU net, written in numpy after the deeplift package (0.6.13.0:
    layers/core.py ``Dense`` pos/neg contributions and multiplier routing, layers/activations.py
    ``Activation`` with ``NonlinearMxtsMode.RevealCancel``, ``pseudocount_near_zero`` at 1e-7)."""
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    near_zero = lambda v: v + 1e-7 * (np.abs(v) < 1e-7)  # noqa: E731
    pos, neg = lambda v: v * (v > 0), lambda v: v * (v < 0)  # noqa: E731
    acts_x, acts_r, parts = [x], [r], []
    for W, b in zip(weights[:-1], biases[:-1]):
        d = acts_x[-1] - acts_r[-1]
        d_pos = pos(d) @ pos(W).T + neg(d) @ neg(W).T
        d_neg = neg(d) @ pos(W).T + pos(d) @ neg(W).T
        z_r = acts_r[-1] @ W.T + b
        p, n = near_zero(d_pos), near_zero(d_neg)
        dy_pos = 0.5 * ((relu(z_r + p) - relu(z_r)) + (relu(z_r + n + p) - relu(z_r + n)))
        dy_neg = 0.5 * ((relu(z_r + n) - relu(z_r)) + (relu(z_r + p + n) - relu(z_r + p)))
        parts.append((dy_pos / p, dy_neg / n, d))
        acts_x.append(relu(acts_x[-1] @ W.T + b))
        acts_r.append(relu(z_r))
    m = weights[-1][0]  # multipliers of the last hidden layer's output
    for W, (pos_scale, neg_scale, d) in zip(weights[-2::-1], parts[::-1]):
        g_pos, g_neg = m * pos_scale, m * neg_scale
        m = ((d > 0) * (g_pos @ pos(W) + g_neg @ neg(W)) + (d < 0) * (g_pos @ neg(W) + g_neg @ pos(W))
             + (d == 0) * (0.5 * (g_pos + g_neg) @ W))
    return m * (x - r)


def test_reveal_cancel_matches_the_deeplift_package_formulas_on_a_dense_net():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(40, 12), nn.ReLU()),
                          nn.Sequential(nn.Linear(12, 6), nn.ReLU()), nn.Linear(6, 1)).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.mul_(3.0)
                module.bias.normal_(0, 0.3)
    X = random_one_hot(4, 10, seed=8)
    refs = make_references(X, "shuffled", n_refs=1, random_state=2)
    ours = deeplift(model, X, refs, rule="revealcancel")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    weights = [m.weight.detach().double().numpy() for m in linears]
    biases = [m.bias.detach().double().numpy() for m in linears]
    theirs = _deeplift_package_reveal_cancel(weights, biases, X.reshape(4, -1).astype(np.float64),
                                             refs[:, 0].reshape(4, -1).astype(np.float64)).reshape(X.shape)
    theirs = theirs.sum(axis=1)  # per position (ours are projected onto the observed base, same sums)
    assert np.abs(theirs).max() > 0.05
    np.testing.assert_allclose(ours.sum(axis=1), theirs, atol=1e-5 * np.abs(theirs).max())
    rescale = deeplift(model, X, refs).sum(axis=1)
    assert np.abs(rescale - theirs).max() > 1e-2 * np.abs(theirs).max()  # and Rescale would not match
