"""Small models with known structure for the attribution tests, and checks of the toys themselves.

- :func:`sequential_cnn`: conv-ReLU-MaxPool-conv-ReLU-MaxPool-Flatten-Linear-ReLU-Linear;
- :func:`other_nonlinearities_cnn`: ELU, overlapping max pool (4, stride 2), sigmoid, adaptive max
  pool (a DeepLIFT rule for each);
- :class:`PWMModel`: one convolution filter holding the log-odds of a motif, ReLU above a threshold,
  global max pool, so the logit is ``scale * max(0, best motif score - threshold)``: the known answer
  is "the motif and nothing else".
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

MOTIF = "ATGCAAAT"


def one_hot(codes: np.ndarray) -> np.ndarray:
    """``(N, L)`` codes 0-3 to ``(N, 4, L)`` float32."""
    return np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1).copy()


def random_one_hot(n: int, length: int, seed: int = 0) -> np.ndarray:
    return one_hot(np.random.default_rng(seed).integers(0, 4, size=(n, length)))


def _init(model: nn.Module, seed: int, out_scale: float) -> nn.Module:
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.normal_(m.bias, std=0.1)
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last.weight.mul_(out_scale)
    return model.eval()


def sequential_cnn(length: int = 64, channels: int = 8, seed: int = 0, out_scale: float = 5.0) -> nn.Sequential:
    """conv(7)-ReLU-MaxPool(4)-conv(5)-ReLU-MaxPool(2)-Flatten-Linear-ReLU-Linear; logits of order 1-10."""
    model = nn.Sequential(
        nn.Conv1d(4, channels, 7, padding=3), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(channels, channels, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
        nn.Flatten(), nn.Linear(channels * (length // 8), 16), nn.ReLU(), nn.Linear(16, 1),
    )
    return _init(model, seed, out_scale)


def other_nonlinearities_cnn(channels: int = 6, seed: int = 1, out_scale: float = 5.0) -> nn.Sequential:
    """ELU, overlapping MaxPool1d(4, 2), sigmoid, AdaptiveMaxPool1d(1): any length >= 16."""
    model = nn.Sequential(
        nn.Conv1d(4, channels, 5), nn.ELU(), nn.MaxPool1d(4, stride=2),
        nn.Conv1d(channels, channels, 3, padding=1), nn.Sigmoid(), nn.AdaptiveMaxPool1d(1),
        nn.Flatten(), nn.Linear(channels, 8), nn.Softplus(), nn.Linear(8, 1),
    )
    return _init(model, seed, out_scale)


def pwm_weights(motif: str = MOTIF, p: float = 0.85) -> np.ndarray:
    """``(4, k)`` log2-odds of a PWM with probability ``p`` on the consensus base."""
    probs = np.full((4, len(motif)), (1 - p) / 3)
    for i, b in enumerate(motif):
        probs["ACGT".index(b), i] = p
    return np.log2(probs / 0.25).astype(np.float32)


class PWMModel(nn.Module):
    """``scale * max_p ReLU(PWM score at p - threshold)``: one filter, one answer."""

    def __init__(self, motif: str = MOTIF, threshold_fraction: float = 0.6, scale: float = 2.0):
        super().__init__()
        weights = torch.from_numpy(pwm_weights(motif))
        self.first_conv = nn.Conv1d(4, 1, len(motif), bias=True)
        with torch.no_grad():
            self.first_conv.weight.copy_(weights[None])
            self.first_conv.bias.fill_(-threshold_fraction * float(weights.max(dim=0).values.sum()))
        self.activation = nn.ReLU()
        self.pool = nn.AdaptiveMaxPool1d(1)
        self.flatten = nn.Flatten()
        self.out = nn.Linear(1, 1)
        with torch.no_grad():
            self.out.weight.fill_(scale)
            self.out.bias.zero_()
        self.eval()

    def forward(self, x):
        return self.out(self.flatten(self.pool(self.activation(self.first_conv(x)))))


def with_motif(n: int, length: int, positions, motif: str = MOTIF, seed: int = 0) -> np.ndarray:
    """Random sequences with ``motif`` written at ``positions[i]`` in sequence ``i``; the background is
    re-drawn until no other window scores above half the motif's maximum."""
    rng = np.random.default_rng(seed)
    weights = pwm_weights(motif)
    k = len(motif)
    codes = np.zeros((n, length), dtype=np.int64)
    for i in range(n):
        while True:
            row = rng.integers(0, 4, size=length)
            row[positions[i]: positions[i] + k] = ["ACGT".index(b) for b in motif]
            scores = np.array([weights[row[p: p + k], np.arange(k)].sum() for p in range(length - k + 1)])
            scores[positions[i]] = -np.inf
            if scores.max() < 0.5 * weights.max(axis=0).sum():
                break
        codes[i] = row
    return one_hot(codes)


def test_pwm_model_scores_the_motif_by_hand():
    model = PWMModel()
    X = with_motif(3, 40, [5, 17, 30])
    weights = pwm_weights()
    best = weights.max(axis=0).sum()
    expected = 2.0 * (best - 0.6 * best)  # the consensus is the best window
    with torch.no_grad():
        out = model(torch.from_numpy(X)).numpy().ravel()
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    X[0, :, 5:13] = np.roll(X[0, :, 5:13], 1, axis=0)  # every motif base changed
    with torch.no_grad():
        assert model(torch.from_numpy(X[:1])).item() == pytest.approx(0.0, abs=1e-6)


def test_sequential_cnn_logits_have_a_realistic_scale():
    model = sequential_cnn()
    with torch.no_grad():
        out = model(torch.from_numpy(random_one_hot(32, 64))).numpy()
    assert out.shape == (32, 1)
    assert 0.5 < np.abs(out).mean() < 100
