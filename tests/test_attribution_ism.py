"""ISM equals brute-force re-prediction (fast path included), importance is minus the mean of the 3
alternatives, batch-size invariance, and the fast path's safety net."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from regsim.models import RegCNNForSequenceClassification, preset_config
from regsim.models.attribution.ism import ism, ism_importance
from regsim.models.attribution.receptive_field import local_trunk
from test_attribution_toys import other_nonlinearities_cnn, random_one_hot, sequential_cnn


def brute_force(model, X):
    """Re-predict every single-base mutant, one sequence at a time."""
    out = np.zeros_like(X)
    with torch.no_grad():
        for i in range(len(X)):
            y0 = model(torch.from_numpy(X[i: i + 1])).reshape(-1)[0].item()
            for j in range(X.shape[2]):
                if X[i, :, j].sum() == 0:
                    continue
                mutants = np.repeat(X[i: i + 1], 4, axis=0)
                mutants[:, :, j] = np.eye(4, dtype=np.float32)
                y = model(torch.from_numpy(mutants)).reshape(-1).numpy()
                out[i, :, j] = y - y0
                out[i, X[i, :, j].argmax(), j] = 0
    return out


def regcnn(name, length, seed=0):
    torch.manual_seed(seed)
    return RegCNNForSequenceClassification(preset_config(name, length)).eval()


@pytest.mark.parametrize("case", ["sequential", "other", "tiny", "basset"])
def test_ism_equals_brute_force_re_prediction(case):
    model, length = {
        "sequential": (sequential_cnn(64), 64),
        "other": (other_nonlinearities_cnn(), 40),
        "tiny": (regcnn("tiny", 60), 60),
        "basset": (regcnn("basset", 64), 64),
    }[case]
    X = random_one_hot(2, length, seed=2)
    X[1, :, 5] = 0  # an N: not mutated
    expected = brute_force(model.logit_module() if hasattr(model, "logit_module") else model, X)
    for fast in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the fast path must be accepted, not fall back
            deltas = ism(model, X, fast=fast, batch_size=100)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(deltas, expected, atol=2e-6 * max(1.0, scale))
    assert (deltas * X == 0).all() and (deltas[1, :, 5] == 0).all()


def test_fast_path_covers_the_convolution_trunk():
    steps = local_trunk(regcnn("basset", 96), torch.zeros(1, 4, 96))
    kinds = [s.kind for s in steps]
    assert kinds.count("conv") == 3 and kinds.count("maxpool") == 3
    steps = local_trunk(sequential_cnn(64), torch.zeros(1, 4, 64))
    assert [s.kind for s in steps] == ["conv", "elementwise", "maxpool", "conv", "elementwise", "maxpool"]


def test_importance_is_minus_the_mean_over_the_three_alternatives():
    deltas = np.zeros((1, 4, 3), dtype=np.float32)
    deltas[0, :, 0] = [0.0, 1.0, 2.0, 3.0]  # observed A
    deltas[0, :, 1] = [-3.0, 0.0, 0.0, 0.0]  # observed C
    np.testing.assert_allclose(ism_importance(deltas), [[-2.0, 1.0, 0.0]])


def test_batch_size_invariant():
    model = regcnn("tiny", 60)
    X = random_one_hot(4, 60, seed=9)
    full = ism(model, X, batch_size=1000)
    for batch_size in (7, 180, 181):
        np.testing.assert_allclose(ism(model, X, batch_size=batch_size), full, atol=1e-6)
    np.testing.assert_allclose(ism(model, X[2:4]), full[2:4], atol=1e-6)


class SkipModel(nn.Module):
    """A residual connection around the second convolution: the leaf modules form a chain, but the
    trunk output also reads an earlier activation, so splicing only the chain would be wrong."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv1d(4, 4, 5, padding=2)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv1d(4, 4, 3, padding=1)
        self.flatten = nn.Flatten()
        self.out = nn.Linear(4 * 30, 1)

    def forward(self, x):
        h = self.relu(self.conv1(x))
        return self.out(self.flatten(self.conv2(h) + h))


def test_fast_path_falls_back_with_a_warning_when_it_would_be_wrong():
    model = SkipModel().eval()
    X = random_one_hot(2, 30, seed=1)
    with pytest.warns(RuntimeWarning, match="re-predicted in full"):
        deltas = ism(model, X)
    np.testing.assert_allclose(deltas, brute_force(model, X), atol=1e-5)
    assert "forward" not in model.conv1.__dict__ and "forward" not in model.conv2.__dict__
