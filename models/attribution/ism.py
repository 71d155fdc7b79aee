"""In-silico saturation mutagenesis: every position x its 3 alternative bases.

:func:`ism` returns the full ``(N, 4, L)`` matrix of ``logit(mutant) - logit(original)`` (0 at the
observed base, and at positions whose base is not A/C/G/T, which are not mutated);
:func:`ism_importance` turns it into the paper's per-base score, minus the mean change over the 3
alternatives.

Fast path (``fast=True``, the default): a single-base change only alters a window of each
convolution's output. When the model has a local convolutional trunk
(:func:`~models.attribution.receptive_field.local_trunk`), every mutant runs the trunk only on
that window, reading the rest from the original sequence's cached activations, writes the window
into the cached trunk output, and runs the remaining layers (dense head) in full. Windowing stops
at the first layer whose window would cover more than half of its positions (for Basset at 200 bp:
the third convolution); that layer and everything after it run in full. The trunk's
modules are called directly; for the head the model itself is called with the trunk's modules
temporarily replaced by stand-ins that hand on the spliced activations. Before use, the fast path
is checked against plain re-prediction on substitutions at both ends and the middle of the first
sequence; if they disagree by more than float rounding, a warning is issued and every
mutant is re-predicted in full.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._common import batch_slices, evaluating, logits, to_tensor, validate_inputs
from regsim.dataset_builder.core.log import progress
from ._kernels import window_inputs
from .receptive_field import Step, local_trunk

DEFAULT_BATCH_SIZE = 512  # mutants per forward pass
_FAST_TOLERANCE = 1e-4  # relative to max(1, |logit|)
_MAX_WINDOW_FRACTION = 0.5  # layers whose recomputed window is wider than this share of them run in full


def ism_importance(deltas: np.ndarray) -> np.ndarray:
    """Per-base ISM score: minus the mean logit change over the 3 alternative bases.

    Parameters
    ----------
    deltas : np.ndarray
        ``(N, 4, L)`` from :func:`ism` (0 at the observed base).

    Returns
    -------
    np.ndarray
        ``(N, L)`` float32 (0 at positions that were not mutated).
    """
    return (-np.asarray(deltas, dtype=np.float64).sum(axis=1) / 3).astype(np.float32)


def _mutations(X: np.ndarray):
    """``(seq, pos, base)`` int64 arrays of every single-base substitution, sequence-major, then
    position, then base."""
    observed = X.argmax(axis=1)
    is_base = X.sum(axis=1) > 0
    seq, pos = np.nonzero(is_base)
    alternatives = np.array([[b for b in range(4) if b != o] for o in range(4)])
    bases = alternatives[observed[seq, pos]]
    return np.repeat(seq, 3), np.repeat(pos, 3), bases.ravel()


def _mutants(x: torch.Tensor, seq, pos, base) -> torch.Tensor:
    out = x[seq].clone()
    rows = torch.arange(len(seq), device=x.device)
    out[rows, :, pos] = 0
    out[rows, base, pos] = 1
    return out


class _Window:
    """Geometry of one trunk step's recomputed window, for every mutated input position."""

    def __init__(self, step: Step, prev_start: np.ndarray, prev_first: np.ndarray, prev_last: np.ndarray):
        self.step = step
        if step.kind == "elementwise":
            self.first, self.last, self.start = prev_first, prev_last, prev_start
            self.width = None  # same as the previous window
            return
        s, pad, span, out_len = step.stride, step.pad_left, step.span, step.out_length
        first = np.clip(-((span - 1 - pad - prev_first) // s), 0, out_len - 1)  # ceil((a + pad - span + 1) / s)
        last = np.clip((prev_last + pad) // s, 0, out_len - 1)
        self.width = int(max(1, (last - first + 1).max()))
        self.start = np.clip(np.minimum(first, out_len - self.width), 0, None)
        self.first, self.last = first, last
        self.in_start = self.start * s - pad  # first input position read, unpadded coordinates
        self.in_width = (self.width - 1) * s + span
        self.pad_left = int(max(0, -self.in_start.min()))
        self.pad_right = int(max(0, (self.in_start + self.in_width).max() - step.in_length))


class _FastISM:
    def __init__(self, model: nn.Module, steps: list[Step], length: int, device):
        self.model, self.steps, self.device = model, steps, device
        positions = np.arange(length)
        start, first, last, width = positions, positions, positions, 1
        self.windows = []
        for step in steps:
            window = _Window(step, start, first, last)
            if window.width is None:
                window.width = width
            elif window.width > _MAX_WINDOW_FRACTION * step.out_length:
                break  # from here on the window is most of the layer: run it in full, in the model
            self.windows.append(window)
            start, first, last, width = window.start, window.first, window.last, window.width
        self._t = {}
        for i, w in enumerate(self.windows):
            self._t[i] = torch.as_tensor(w.start, device=device)
            if w.step.kind != "elementwise":
                self._t[("in", i)] = torch.as_tensor(w.in_start + w.pad_left, device=device)

    def caches(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The trunk activations of ``x``: each windowed step's padded input, then the trunk output."""
        caches, a = [], x
        with torch.no_grad():
            for w in self.windows:
                if w.step.kind != "elementwise":
                    caches.append(F.pad(a, (w.pad_left, w.pad_right), value=w.step.pad_value))
                else:
                    caches.append(None)
                a = w.step.module(a)
        caches.append(a)
        return caches

    def predict(self, x: torch.Tensor, caches, seq, pos, base) -> torch.Tensor:
        m = len(seq)
        rows = torch.arange(m, device=self.device)
        win = torch.zeros(m, 4, 1, device=self.device)
        win[rows, base, 0] = 1
        win_start, win_width = pos, 1
        with torch.no_grad():
            for i, w in enumerate(self.windows):
                step = w.step
                if step.kind == "elementwise":
                    win = step.module(win)
                    continue
                start = self._t[("in", i)][pos]  # padded coordinates
                values = window_inputs(caches[i], seq, start, win, win_start + w.pad_left - start, w.in_width)
                win = self._apply(step, values)
                win_start, win_width = self._t[i][pos], w.width
            full = caches[-1][seq]
            index = (win_start[:, None] + torch.arange(win_width, device=self.device))[:, None, :]
            full.scatter_(2, index.expand(m, full.shape[1], win_width), win)
            with self._head_only(full):
                return logits(self.model, x[seq])

    @staticmethod
    def _apply(step: Step, values: torch.Tensor) -> torch.Tensor:
        module = step.module
        if step.kind == "conv":
            return F.conv1d(values, module.weight, module.bias, step.stride, 0, step.dilation, module.groups)
        if step.kind == "maxpool":
            return F.max_pool1d(values, step.kernel, step.stride, 0, step.dilation)
        return F.avg_pool1d(values, step.kernel, step.stride, 0)

    @contextlib.contextmanager
    def _head_only(self, trunk_output: torch.Tensor):
        modules = [w.step.module for w in self.windows]
        saved = [(m, m.__dict__.get("forward")) for m in modules]
        for m in modules[:-1]:
            m.forward = lambda inp, *args, **kwargs: inp
        modules[-1].forward = lambda *args, **kwargs: trunk_output
        try:
            yield
        finally:
            for m, own in saved:
                if own is None:
                    del m.forward
                else:
                    m.forward = own


def ism(model: nn.Module, X, *, fast: bool = True, batch_size: int = DEFAULT_BATCH_SIZE, device=None,
        random_state=0, verbose: bool = False) -> np.ndarray:
    """Logit change of every single-base substitution.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, 4, L)`` float32 one-hot to one logit per sequence.
    X : array-like
        ``(N, 4, L)`` one-hot sequences.
    fast : bool, default True
        Recompute only the convolution windows a substitution changes (see the module docstring);
        results equal plain re-prediction up to float rounding.
    batch_size : int, default 512
        Mutants per forward pass.
    device : str or torch.device, optional
        Default: the model's device.
    random_state : int, default 0
        Unused (deterministic method); part of the common signature.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    np.ndarray
        ``(N, 4, L)`` float32 ``logit(mutant) - logit(X)``; 0 at the observed bases and at
        non-ACGT positions.
    """
    X = validate_inputs(X)
    n, _, length = X.shape
    deltas = np.zeros_like(X)
    if n == 0:
        return deltas
    seq_all, pos_all, base_all = _mutations(X)
    per_sequence = np.bincount(seq_all, minlength=n)
    chunk = max(1, batch_size // max(1, 3 * length))
    with evaluating(model, device) as device, progress(total=n, desc="ism", unit="seq", verbose=verbose) as bar:
        engine = None
        if fast:
            steps = local_trunk(model, to_tensor(X[:1], device))
            if any(s.kind == "conv" for s in steps):
                engine = _FastISM(model, steps, length, device)
                if not any(w.step.kind == "conv" for w in engine.windows):
                    engine = None
        if engine is not None and not _fast_path_agrees(engine, model, to_tensor(X[:1], device),
                                                        *_edge_mutations(X[0], seq_all, pos_all, base_all)):
            engine = None
        for index in batch_slices(n, chunk):
            x = to_tensor(X[index], device)
            with torch.no_grad():
                y0 = logits(model, x)
            caches = engine.caches(x) if engine is not None else None
            lo, hi = per_sequence[: index.start].sum(), per_sequence[: index.stop].sum()
            for rows in batch_slices(int(hi - lo), batch_size):
                sel = slice(lo + rows.start, lo + rows.stop)
                seq = torch.as_tensor(seq_all[sel] - index.start, device=device)
                pos = torch.as_tensor(pos_all[sel], device=device)
                base = torch.as_tensor(base_all[sel], device=device)
                if engine is not None:
                    y = engine.predict(x, caches, seq, pos, base)
                else:
                    with torch.no_grad():
                        y = logits(model, _mutants(x, seq, pos, base))
                deltas[seq_all[sel], base_all[sel], pos_all[sel]] = (y - y0[seq]).cpu().numpy()
            bar.update(index.stop - index.start)
    return deltas


def _edge_mutations(x0: np.ndarray, seq_all, pos_all, base_all, edge: int = 8):
    """The first sequence's substitutions at its first and last ``edge`` positions and its middle."""
    length = x0.shape[-1]
    first = seq_all == 0
    pos = pos_all[first]
    keep = (pos < edge) | (pos >= length - edge) | (np.abs(pos - length // 2) < edge // 2)
    return np.zeros(int(keep.sum()), dtype=np.int64), pos[keep], base_all[first][keep]


def _fast_path_agrees(engine: _FastISM, model: nn.Module, x: torch.Tensor, seq, pos, base) -> bool:
    """Compare the fast path with plain re-prediction on a few substitutions of ``x`` ``(1, 4, L)``."""
    if len(seq) == 0:
        return True
    seq, pos, base = (torch.as_tensor(a, device=x.device) for a in (seq, pos, base))
    with torch.no_grad():
        plain = logits(model, _mutants(x, seq, pos, base))
    try:
        fast = engine.predict(x, engine.caches(x), seq, pos, base)
    except Exception as error:  # a model whose head does not accept the spliced activations
        warnings.warn(f"fast ISM does not run on this model ({type(error).__name__}: {error}); every mutant "
                      "is re-predicted in full instead", RuntimeWarning)
        return False
    error = (fast - plain).abs().max().item()
    if error > _FAST_TOLERANCE * max(1.0, plain.abs().max().item()):
        warnings.warn(f"fast ISM differs from re-prediction by {error:.3g} on this model; every mutant is "
                      "re-predicted in full instead", RuntimeWarning)
        return False
    return True
