"""Saliency and grad x input equal autograd by hand; Integrated Gradients equals captum's and converges;
off-simplex correction; batch-size invariance; the single-PWM toy puts every method on the motif."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regsim.models import RegCNNForSequenceClassification, preset_config
from regsim.models.attribution.attribute import attribute
from regsim.models.attribution.gradients import grad_x_input, saliency
from regsim.models.attribution.integrated_gradients import integrated_gradients, path_nodes
from regsim.models.attribution.references import make_references
from test_attribution_toys import MOTIF, PWMModel, random_one_hot, sequential_cnn, with_motif


def autograd_by_hand(model, X):
    grads = []
    for i in range(len(X)):
        x = torch.from_numpy(X[i: i + 1]).requires_grad_()
        model(x).sum().backward()
        grads.append(x.grad[0].numpy().copy())
    return np.stack(grads)


def test_saliency_and_grad_x_input_equal_autograd_by_hand():
    torch.manual_seed(0)
    model = RegCNNForSequenceClassification(preset_config("tiny", 60)).eval()
    X = random_one_hot(5, 60, seed=1)
    expected = autograd_by_hand(model.logit_module(), X)
    np.testing.assert_allclose(saliency(model, X, batch_size=2), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grad_x_input(model, X, batch_size=3), expected * X, rtol=1e-5, atol=1e-7)
    corrected = saliency(model, X, off_simplex=True)
    np.testing.assert_allclose(corrected, expected - expected.mean(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(corrected.sum(axis=1), 0.0, atol=1e-6)
    assert all(p.requires_grad for p in model.parameters())  # parameters unfrozen afterwards


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid", "riemann_middle"])
def test_integrated_gradients_equals_captum(method):
    from captum.attr import IntegratedGradients

    model = sequential_cnn(64)
    X = random_one_hot(4, 64, seed=2)
    refs = make_references(X, "shuffled", n_refs=1)[:, 0]
    theirs, delta = IntegratedGradients(model).attribute(
        torch.from_numpy(X), baselines=torch.from_numpy(refs), n_steps=12, method=method,
        return_convergence_delta=True)
    hyp, completeness = integrated_gradients(model, X, refs, n_steps=12, method=method, hypothetical=True,
                                             return_completeness=True, batch_size=5)
    theirs = theirs.detach().numpy()
    if method == "riemann_trapezoid":
        # captum's trapezoid nodes are linspace(0, 1, n) but its weights are 1/n (halved at the ends),
        # summing to (n - 1) / n; ours are 1/(n - 1), summing to 1.
        theirs, delta = theirs * 12 / 11, delta.numpy() + (theirs.sum(axis=(1, 2)) / 11)
    # captum's per-channel (x - r) * G summed per position is what we put on the observed base
    np.testing.assert_allclose((hyp * X).sum(axis=1), theirs.sum(axis=1), rtol=1e-4, atol=1e-5 * np.abs(theirs).max())
    np.testing.assert_allclose(completeness.attribution_sum - completeness.output_difference, np.asarray(delta),
                               atol=1e-4 * np.abs(completeness.output_difference).max())


def test_integrated_gradients_converges_and_averages_references():
    model = sequential_cnn(64)
    X = random_one_hot(3, 64, seed=3)
    errors = []
    for steps in (5, 50, 400):
        _, c = integrated_gradients(model, X, "zeros", n_steps=steps, method="riemann_trapezoid",
                                    return_completeness=True)
        errors.append(c.absolute_error.max())
    assert errors[2] < errors[0] and errors[2] < 0.01 * np.abs(c.output_difference).max()
    refs = make_references(X, "shuffled", n_refs=3)
    both = integrated_gradients(model, X, refs, n_steps=8)
    singles = np.mean([integrated_gradients(model, X, refs[:, k], n_steps=8) for k in range(3)], axis=0)
    np.testing.assert_allclose(both, singles, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(integrated_gradients(model, X, refs, n_steps=8, batch_size=7), both,
                               rtol=1e-5, atol=1e-6)


def test_path_nodes_integrate_polynomials():
    for method, exact_degree in [("gausslegendre", 9), ("riemann_trapezoid", 1)]:
        a, w = path_nodes(5, method)
        for degree in range(exact_degree + 1):
            assert (w * a ** degree).sum() == pytest.approx(1 / (degree + 1))


METHODS_ON_MOTIF = [
    ("ism", "none"), ("saliency", "none"), ("grad_x_input", "none"), ("integrated_gradients", "zeros"),
    ("integrated_gradients", "shuffled"), ("deeplift", "zeros"), ("deepshap", "shuffled"),
    ("deeplift", "base_freq"), ("deeplift", "gc_matched"), ("gradcam_first", "none"), ("gradcam_last", "none"),
    ("zheng", "none"), ("grad_x_act_first", "none"), ("deeplift_first", "shuffled"),
    ("grad_x_input_offsimplex", "none"), ("deepshap_offsimplex", "shuffled"),
]


@pytest.mark.parametrize("method,reference", METHODS_ON_MOTIF)
def test_single_pwm_filter_model_puts_the_attribution_on_the_motif(method, reference):
    model = PWMModel()
    positions = [4, 20, 33]
    X = with_motif(3, 48, positions)
    result = attribute(model, X, method, reference, n_refs=5, n_steps=30)
    scores = result.arrays.get("importance", result.attributions)
    per_base = np.abs(scores if scores.ndim == 2 else scores.sum(axis=1))
    for i, p in enumerate(positions):
        inside = per_base[i, p: p + len(MOTIF)].sum()
        assert inside >= 0.9 * per_base[i].sum() > 0, (method, i, inside / per_base[i].sum())


@pytest.mark.parametrize("method", ["ism", "saliency", "grad_x_input", "integrated_gradients", "deeplift", "deepshap",
                                    "gradcam_last", "gradcam_first", "zheng", "grad_x_act_first", "deeplift_first",
                                    "zheng_offsimplex"])
def test_every_method_is_batch_size_invariant(method):
    torch.manual_seed(0)
    model = RegCNNForSequenceClassification(preset_config("tiny", 40)).eval()
    X = random_one_hot(5, 40, seed=6)
    default = attribute(model, X, method, n_refs=3, n_steps=6)
    small = attribute(model, X, method, n_refs=3, n_steps=6, batch_size=2)
    for name, array in default.arrays.items():
        np.testing.assert_allclose(small.arrays[name], array, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(array).max()))
    first_two = attribute(model, X[:2], method, n_refs=3, n_steps=6)
    np.testing.assert_allclose(first_two.attributions, default.attributions[:2], rtol=1e-5, atol=1e-6)
