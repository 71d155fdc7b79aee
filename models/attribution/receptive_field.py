"""Which input bases each position of a layer sees, and the local convolutional trunk of a model.

A forward pass with hooks on every leaf module records the modules in call order. The *local trunk*
is the longest prefix of that call sequence in which the first module reads the model's input
itself, every next module reads exactly the previous module's output (the same tensor object, so no
hidden operation sits between them), no module is called twice, and every module acts locally along
the sequence: ``nn.Conv1d`` (zero padding), ``nn.MaxPool1d``, ``nn.AvgPool1d`` (``count_include_pad``)
and elementwise modules (activations, ``nn.BatchNorm1d`` in eval mode, dropout, identity). For a
regsim ``RegCNN`` that is every convolution block, up to ``Flatten``.

Along the trunk, output position ``p`` of a layer with kernel ``k``, stride ``s``, dilation ``d`` and
left padding ``pad`` reads positions ``p*s - pad ... p*s - pad + d*(k-1)`` of its input (padding
positions read nothing); composing these ranges layer by layer gives each position's *effective
receptive field* ``[start_p, stop_p)`` in the input, strides and pooling included.
:meth:`ReceptiveField.to_bases` maps per-position scores to bases by averaging: base ``j`` gets the
mean score of the positions ``p`` with ``start_p <= j < stop_p`` (for a first convolution with
stride 1 and no padding: ``p <= j < p + k``).

For a layer outside a traceable trunk, :func:`receptive_field` falls back to probing: it perturbs
each input position of a random input and records which layer positions change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse
from torch import nn

from regsim.dataset_builder.core.errors import UserError

from ._common import evaluating

# Modules that act on each position (and channel) independently once the model is in eval mode.
ELEMENTWISE = (
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh,
    nn.Softplus, nn.Softsign, nn.Hardtanh, nn.ReLU6, nn.Hardsigmoid, nn.Hardswish, nn.LogSigmoid,
    nn.Tanhshrink, nn.PReLU, nn.Identity, nn.Dropout, nn.Dropout1d, nn.AlphaDropout, nn.BatchNorm1d,
)


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the layer of interest has run."""


@dataclass
class Step:
    """One module of a local trunk and how its output positions read its input positions."""

    module: nn.Module
    kind: str  # "conv", "maxpool", "avgpool" or "elementwise"
    kernel: int
    stride: int
    pad_left: int
    dilation: int
    in_length: int
    out_length: int

    @property
    def span(self) -> int:
        """Input positions one output position reads, ``dilation * (kernel - 1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def pad_value(self) -> float:
        return float("-inf") if self.kind == "maxpool" else 0.0


def _first(value) -> int:
    return int(value[0] if isinstance(value, (tuple, list)) else value)


def _step(module: nn.Module, in_length: int, out_length: int) -> Step | None:
    """The geometry of ``module`` if it is local along the sequence, else None."""
    if isinstance(module, nn.Conv1d):
        if module.padding_mode != "zeros":
            return None
        k, s, d = _first(module.kernel_size), _first(module.stride), _first(module.dilation)
        if module.padding == "same":
            pad = d * (k - 1) // 2
        elif module.padding == "valid":
            pad = 0
        else:
            pad = _first(module.padding)
        return Step(module, "conv", k, s, pad, d, in_length, out_length)
    if isinstance(module, nn.MaxPool1d):
        k = _first(module.kernel_size)
        s = _first(module.stride) if module.stride is not None else k
        return Step(module, "maxpool", k, s, _first(module.padding), _first(module.dilation), in_length, out_length)
    if isinstance(module, nn.AvgPool1d) and module.count_include_pad:
        k = _first(module.kernel_size)
        s = _first(module.stride) if module.stride is not None else k
        return Step(module, "avgpool", k, s, _first(module.padding), 1, in_length, out_length)
    if isinstance(module, ELEMENTWISE):
        return Step(module, "elementwise", 1, 1, 0, 1, in_length, out_length)
    return None


def _leaf_calls(model: nn.Module, x: torch.Tensor, stop_after: nn.Module | None = None):
    """Run ``model(x)`` and record ``(module, input, output)`` of every leaf module call, in order."""
    calls, handles = [], []

    def hook(module, inputs, output):
        calls.append((module, inputs[0] if inputs else None, output))
        if module is stop_after:
            raise _Stop

    for module in model.modules():
        if next(module.children(), None) is None:
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    except _Stop:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return calls


def local_trunk(model: nn.Module, x: torch.Tensor) -> list[Step]:
    """The local convolutional trunk of ``model`` (see the module docstring); ``[]`` if there is none.

    Parameters
    ----------
    model : nn.Module
        In eval mode.
    x : torch.Tensor
        ``(n, 4, L)`` an example input.
    """
    calls = _leaf_calls(model, x)
    steps, seen, previous = [], set(), x
    for module, inp, out in calls:
        if inp is not previous or id(module) in seen or not isinstance(out, torch.Tensor) or out.ndim != 3:
            break
        step = _step(module, inp.shape[-1], out.shape[-1])
        if step is None:
            break
        steps.append(step)
        seen.add(id(module))
        previous = out
    return steps


@dataclass(frozen=True)
class ReceptiveField:
    """The input bases ``[start[p], stop[p])`` that each position ``p`` of a layer reads.

    Attributes
    ----------
    start, stop : np.ndarray
        ``(P,)`` int64, clipped to ``[0, length]``.
    length : int
        Input length ``L``.
    """

    start: np.ndarray
    stop: np.ndarray
    length: int

    def matrix(self) -> sparse.csr_matrix:
        """``(P, L)`` 0/1 matrix: row ``p`` marks the bases position ``p`` reads."""
        widths = np.maximum(self.stop - self.start, 0)
        rows = np.repeat(np.arange(len(self.start)), widths)
        cols = np.concatenate([np.arange(a, b) for a, b in zip(self.start, self.stop)] or [np.zeros(0, int)])
        data = np.ones(len(rows), dtype=np.float64)
        return sparse.csr_matrix((data, (rows, cols.astype(np.int64))), shape=(len(self.start), self.length))

    def to_bases(self, scores: np.ndarray, mapping: str = "average") -> np.ndarray:
        """Map ``(N, P)`` layer scores to ``(N, L)`` base scores.

        ``mapping="average"``: base ``j`` gets the mean of ``scores[:, p]`` over the positions ``p``
        whose receptive field contains ``j``; a base no position reads gets 0. ``mapping="linear"``:
        each position's score sits at the centre of its receptive field and bases get the linear
        interpolation between neighbouring centres (held constant beyond the outermost ones), the
        paper's mapping for the last conv layer, whose few positions each read most of the sequence.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[1] != len(self.start):
            raise UserError(f"scores must be (N, {len(self.start)}), got {scores.shape}")
        if mapping == "linear":
            read = self.stop > self.start
            centres = (self.start[read] + self.stop[read] - 1) / 2.0
            bases = np.arange(self.length)
            return np.stack([np.interp(bases, centres, row[read]) for row in scores]).astype(np.float32) \
                if len(scores) else np.zeros((0, self.length), dtype=np.float32)
        if mapping != "average":
            raise UserError(f"unknown conv mapping {mapping!r}; choose 'average' or 'linear'")
        m = self.matrix()
        counts = np.asarray(m.sum(axis=0)).ravel()
        total = np.asarray(m.T.dot(scores.T)).T
        return (total / np.maximum(counts, 1)).astype(np.float32)


def _compose(steps: list[Step], length: int) -> ReceptiveField:
    start, stop = np.arange(length), np.arange(length) + 1
    for step in steps:
        if step.kind == "elementwise":
            continue
        p = np.arange(step.out_length)
        lo = np.clip(p * step.stride - step.pad_left, 0, step.in_length - 1)
        hi = np.clip(p * step.stride - step.pad_left + step.span - 1, 0, step.in_length - 1)
        start, stop = start[lo], stop[hi]
    return ReceptiveField(start.astype(np.int64), stop.astype(np.int64), length)


def _probe(model: nn.Module, layer: nn.Module, length: int, device, batch_size: int = 64,
           trials: int = 8) -> ReceptiveField:
    """Measure which layer positions each input position can change: over ``trials`` random inputs,
    perturb one position at a time by a large random vector and record the positions that move
    (max pooling and rectifiers can hide a dependency from any single trial, hence the union)."""
    generator = torch.Generator().manual_seed(0)
    captured = {}

    def hook(module, inputs, output):
        captured["out"] = output.detach()
        raise _Stop

    handle = layer.register_forward_hook(hook)
    changed = None
    try:
        for _ in range(trials):
            base = torch.randn(1, 4, length, generator=generator)
            for a in range(0, length, batch_size):
                b = min(a + batch_size, length)
                x = base.repeat(b - a + 1, 1, 1)  # row 0 stays unperturbed
                x[torch.arange(1, b - a + 1), :, torch.arange(a, b)] += 10 * torch.randn(b - a, 4, generator=generator)
                try:
                    with torch.no_grad():
                        model(x.to(device))
                except _Stop:
                    pass
                out = captured["out"].float().cpu()
                if out.ndim != 3:
                    raise UserError(f"layer {type(layer).__name__} outputs shape {tuple(out.shape)}; expected (N, C, P)")
                diff = (out[1:] - out[:1]).abs().amax(dim=1)
                scale = out[:1].abs().max().clamp_min(1e-12)
                if changed is None:
                    changed = np.zeros((length, out.shape[-1]), dtype=bool)
                changed[a:b] |= (diff > 1e-4 * scale).numpy()
    finally:
        handle.remove()
    any_j = changed.any(axis=0)
    start = np.where(any_j, changed.argmax(axis=0), 0)
    stop = np.where(any_j, length - changed[::-1].argmax(axis=0), 0)
    return ReceptiveField(start.astype(np.int64), stop.astype(np.int64), length)


def receptive_field(model: nn.Module, layer: nn.Module, length: int, *, device=None) -> ReceptiveField:
    """The effective receptive field of every output position of ``layer``.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, 4, length)`` to logits.
    layer : nn.Module
        A module of ``model`` with output ``(N, C, P)``.
    length : int
        Input length ``L``.
    device : str or torch.device, optional
        Default: the model's device.

    Returns
    -------
    ReceptiveField
        Exact from the layer geometry when ``layer`` is in the model's local trunk, else measured by
        perturbing each input position of a random input.
    """
    with evaluating(model, device) as device:
        x = torch.zeros(1, 4, length, device=device)
        steps = local_trunk(model, x)
        for i, step in enumerate(steps):
            if step.module is layer:
                return _compose(steps[: i + 1], length)
        return _probe(model, layer, length, device)
