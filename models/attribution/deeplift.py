"""DeepLIFT (Rescale rule), DeepSHAP and hypothetical contributions, exact on conv-ReLU-max-pool models.

How it works
------------
DeepLIFT's multipliers are an ordinary backward pass in which every nonlinearity's derivative is
replaced by a secant between the input and a reference. Wrapping the nonlinear modules' ``forward`` puts
those secants into the autograd graph, so linear layers (convolutions, dense layers, batch norm in
eval mode, average pooling, flatten, dropout in eval mode) keep their exact chain rule:

- elementwise nonlinearities (ReLU, sigmoid, ...): ``m = (y - y_ref) / (x - x_ref)``, falling back to
  the derivative at ``x`` where ``|x - x_ref| < 1e-6``;
- max pooling (``nn.MaxPool1d``, ``nn.AdaptiveMaxPool1d``): in each window, with ``y = max(x)`` and
  ``y_ref = max(x_ref)``, the change ``y - y_ref`` is split into ``max(y, y_ref) - y_ref``, routed to
  the input's arg-max, and ``y - max(y, y_ref)``, routed to the reference's arg-max; each input
  position's multiplier is its routed change over its own change (the plain gradient where that
  change is 0, which only happens where nothing is routed). The routed changes add up to
  ``y - y_ref`` per window, so summation-to-delta holds exactly. (captum 0.9's ``DeepLift`` misses it
  after ``MaxPool1d`` by as much as the output difference itself, even for one input-baseline pair;
  see ``benchmarks/bench_attribution.py``.)

Each rule is an ``autograd.Function`` whose forward value is the module's output for the
reference and whose backward pass applies the multipliers (the elementwise secants come from a
fused numba kernel, :mod:`models.attribution._kernels`).

Cost: each sequence's forward pass runs once, without autograd, and caches its activations at the
nonlinear modules; its references then run in batches of (sequence x reference) pairs, reading
those cached activations, and only the references take a backward pass. (tangermeme and captum
run the sequence again next to every reference and back-propagate through both.)

Outputs
-------
With multipliers ``m`` ``(4, L)`` for a pair ``(x, r)``, the hypothetical contribution of base ``b``
at position ``l`` is ``m[b, l] - sum_b' m[b', l] r[b', l]`` (what the contribution would be if the
base there were ``b``; modisco-lite's input), averaged over the references; the contributions are
the hypothetical contributions times the one-hot ``x`` (the per-position sum of ``m (x - r)`` on the
observed base). Completeness: ``sum_l sum_b m (x - r)``, averaged over the references, equals
``f(x) - mean f(r)`` (positions with a non-ACGT base in ``x`` contribute to that sum but are 0 in
the projected contributions).
"""

from __future__ import annotations

import contextlib
import warnings
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._common import (
    Completeness,
    batch_slices,
    evaluating,
    logits,
    off_simplex_correction,
    resolve_layer,
    to_tensor,
    validate_inputs,
)
from regsim.dataset_builder.core.log import progress
from ._kernels import rescale_secant
from .references import DEFAULT_N_REFS, ReferenceSource

DEFAULT_BATCH_SIZE = 256  # (sequence, reference) pairs per pass
RESCALE_EPS = 1e-6

ELEMENTWISE_NONLINEAR = (
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh,
    nn.Softplus, nn.Softsign, nn.Hardtanh, nn.ReLU6, nn.Hardsigmoid, nn.Hardswish, nn.LogSigmoid,
    nn.Tanhshrink, nn.PReLU,
)
MAX_POOLS = (nn.MaxPool1d, nn.AdaptiveMaxPool1d)
# Nonlinear modules without a rule here: they are back-propagated as if linear (completeness shows it).
_NO_RULE = (
    nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool2d, nn.LPPool1d,
    nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.MultiheadAttention, nn.GLU, nn.RNNBase,
)


def hypothetical_contributions(multipliers, references):
    """Hypothetical contributions ``m[b, l] - sum_b' m[b', l] r[b', l]`` of every base.

    Parameters
    ----------
    multipliers, references : np.ndarray or torch.Tensor
        ``(..., 4, L)`` (broadcastable).

    Returns
    -------
    Same type, ``(..., 4, L)``.
    """
    if isinstance(multipliers, np.ndarray):
        return multipliers - (multipliers * references).sum(axis=-2, keepdims=True)
    return multipliers - (multipliers * references).sum(dim=-2, keepdim=True)


def _max_pool_with_indices(module: nn.Module, x: torch.Tensor):
    if isinstance(module, nn.AdaptiveMaxPool1d):
        return F.adaptive_max_pool1d(x, module.output_size, return_indices=True)
    return F.max_pool1d(x, module.kernel_size, module.stride, module.padding, module.dilation,
                        module.ceil_mode, return_indices=True)


class _Secant(torch.autograd.Function):
    """Value ``r_out``; backward multiplies the incoming gradient by ``secant``."""

    @staticmethod
    def forward(ctx, r_in, r_out, secant):
        ctx.save_for_backward(secant)
        return r_out

    @staticmethod
    def backward(ctx, grad):
        (secant,) = ctx.saved_tensors
        return grad * secant, None, None


class _MaxPoolRescale(torch.autograd.Function):
    """Max pooling of the references with DeepLIFT's routing of ``y - y_ref`` in the backward pass."""

    @staticmethod
    def forward(ctx, r_in, module, x_in, x_out, x_idx):
        b, channels, length = x_in.shape
        r_out, r_idx = _max_pool_with_indices(module, r_in)
        n, pooled = r_in.shape[0] // b, r_out.shape[-1]
        pairs = (b, n, channels, pooled)
        y, y_ref = x_out.unsqueeze(1), r_out.view(pairs)
        top = torch.maximum(y, y_ref)
        xi, ri = x_idx.unsqueeze(1).expand(pairs), r_idx.view(pairs)
        d_x = y - r_in.view(b, n, channels, length).gather(-1, xi)  # input change at the input's arg-max
        d_r = x_in.unsqueeze(1).expand(b, n, channels, length).gather(-1, ri) - y_ref  # ... at the reference's
        zero_x, zero_r = d_x == 0, d_r == 0
        # Nothing is routed to a position that does not change; there the input's arg-max takes the
        # plain gradient (coefficient 1) and the reference's nothing.
        c_x = torch.where(zero_x, 1.0, (top - y_ref) / d_x.masked_fill(zero_x, 1.0))
        c_r = torch.where(zero_r, 0.0, (y - top) / d_r.masked_fill(zero_r, 1.0))
        ctx.save_for_backward(c_x, c_r, xi, ri)
        ctx.in_shape = (b, n, channels, length)
        return r_out

    @staticmethod
    def backward(ctx, grad):
        c_x, c_r, xi, ri = ctx.saved_tensors
        g = grad.view(c_x.shape)
        out = torch.zeros(ctx.in_shape, dtype=grad.dtype, device=grad.device)
        out.scatter_add_(-1, xi, g * c_x)
        out.scatter_add_(-1, ri, g * c_r)
        return out.view(-1, *ctx.in_shape[2:]), None, None, None, None


class RescaleRules:
    """Gives a model DeepLIFT's backward pass for (sequence, reference) pairs.

    While the context is open, each nonlinear module's ``forward`` is wrapped. Run the sequences
    ``x`` ``(b, 4, L)`` inside ``phase("input")`` (no autograd needed): the wrappers cache their
    activations. Then run their references ``(b * n, 4, L)``, sequence-major, inside
    ``phase("reference")``: the wrappers return the references' activations with DeepLIFT's
    multipliers as their backward pass, so the gradient of the references' logits with respect to
    the references is the multipliers of every pair. Outside a phase the model runs unchanged.
    """

    def __init__(self, model: nn.Module, eps: float = RESCALE_EPS):
        self.eps = eps
        self.modules = [m for m in model.modules() if isinstance(m, ELEMENTWISE_NONLINEAR + MAX_POOLS)]
        unhandled = sorted({type(m).__name__ for m in model.modules() if isinstance(m, _NO_RULE)})
        if unhandled:
            warnings.warn(f"DeepLIFT has no rule for {', '.join(unhandled)}; they are treated as linear, "
                          "so summation-to-delta may fail (check the completeness error)", RuntimeWarning)
        self.mode = None
        self._cache = {}
        self._calls = defaultdict(int)
        self._patched = []

    def __enter__(self):
        for module in self.modules:
            had_own = "forward" in module.__dict__
            original = module.forward
            module.forward = self._wrap(module, original)
            self._patched.append((module, original, had_own))
        return self

    def __exit__(self, *exc):
        for module, original, had_own in self._patched:
            if had_own:
                module.forward = original
            else:
                del module.forward
        self._patched, self._cache = [], {}

    @contextlib.contextmanager
    def phase(self, mode: str):
        """``"input"``: cache the sequences' activations; ``"reference"``: apply the rules."""
        if mode == "input":
            self._cache = {}
        self.mode, self._calls = mode, defaultdict(int)
        try:
            yield
        finally:
            self.mode = None

    def _wrap(self, module, original):
        def forward(*args, **kwargs):
            if self.mode is None or len(args) != 1 or kwargs:
                return original(*args, **kwargs)
            key = (id(module), self._calls[id(module)])
            self._calls[id(module)] += 1
            if self.mode == "input":
                out = original(*args)
                self._cache[key] = self._capture(module, original, args[0].detach(), out.detach())
                return out
            if key not in self._cache:
                raise RuntimeError(f"{type(module).__name__} ran for the references but not for the sequences")
            return self._apply(module, original, self._cache[key], args[0])

        return forward

    @staticmethod
    def _capture(module, original, x_in, x_out):
        if isinstance(module, MAX_POOLS):
            return x_in, x_out, _max_pool_with_indices(module, x_in)[1]
        if type(module) is nn.ReLU:
            return x_in, x_out, None
        with torch.enable_grad():
            z = x_in.detach().requires_grad_()
            y = original(z)
            derivative = torch.autograd.grad(y, z, torch.ones_like(y))[0]
        return x_in, x_out, derivative

    def _apply(self, module, original, cache, r_in):
        x_in, x_out, extra = cache
        if isinstance(module, MAX_POOLS):
            return _MaxPoolRescale.apply(r_in, module, x_in, x_out, extra)
        with torch.no_grad():
            r_out = original(r_in)
            secant = rescale_secant(x_in, x_out, extra, r_in.detach(), r_out, self.eps,
                                    relu=type(module) is nn.ReLU)
        return _Secant.apply(r_in, r_out, secant)


def deeplift_passes(model: nn.Module, X: np.ndarray, source: ReferenceSource, *, layer: nn.Module | None = None,
                    batch_size: int = DEFAULT_BATCH_SIZE, device=None, verbose: bool = False, desc: str = "deeplift"):
    """Run DeepLIFT over ``X`` chunk by chunk (the engine behind every DeepLIFT function).

    Yields
    ------
    dict
        ``index`` (slice of ``X``), ``x`` ``(b, 4, L)``, ``refs`` ``(b, R, 4, L)``, ``multipliers``
        ``(b, R, 4, L)``, ``f_x`` ``(b,)``, ``f_ref`` ``(b, R)``, and with ``layer``:
        ``layer_contributions`` ``(b, R, P)`` (channel-summed ``m_act * (act_x - act_ref)``).
    """
    R = source.n_refs
    per_chunk, ref_chunk = max(1, batch_size // R), min(R, batch_size)
    captured = {}

    def capture(module, inputs, output):
        captured["act"] = output

    with evaluating(model, device) as device, RescaleRules(model) as rules, progress(total=len(X), desc=desc, unit="seq", verbose=verbose) as bar:
        handle = layer.register_forward_hook(capture) if layer is not None else None
        try:
            for index in batch_slices(len(X), per_chunk):
                x = to_tensor(X[index], device)
                refs = to_tensor(source.batch(index, X[index]), device)
                b = x.shape[0]
                with rules.phase("input"), torch.no_grad():
                    f_x = logits(model, x)
                act_x = captured.get("act")
                multipliers = torch.empty_like(refs)
                f_ref = torch.empty(b, R, device=device)
                layer_contributions = None
                for rs in batch_slices(R, ref_chunk):
                    r = refs[:, rs].reshape(-1, *x.shape[1:]).requires_grad_()
                    with rules.phase("reference"), torch.enable_grad():
                        out = logits(model, r)
                        wrt = [r] + ([captured["act"]] if layer is not None else [])
                        grads = torch.autograd.grad(out.sum(), wrt)
                    multipliers[:, rs] = grads[0].view(b, -1, *x.shape[1:])
                    f_ref[:, rs] = out.detach().view(b, -1)
                    if layer is not None:
                        act_r = captured["act"].detach()
                        diff = act_x.unsqueeze(1) - act_r.view(b, -1, *act_x.shape[1:])
                        part = (grads[1].view_as(diff).double() * diff.double()).sum(dim=2)
                        if layer_contributions is None:
                            layer_contributions = torch.empty(b, R, part.shape[-1], dtype=torch.float64, device=device)
                        layer_contributions[:, rs] = part
                yield {"index": index, "x": x, "refs": refs, "multipliers": multipliers, "f_x": f_x,
                       "f_ref": f_ref, "layer_contributions": layer_contributions}
                bar.update(b)
        finally:
            if handle is not None:
                handle.remove()


def deeplift(
    model: nn.Module,
    X,
    references="zeros",
    *,
    n_refs: int = DEFAULT_N_REFS,
    off_simplex: bool = False,
    hypothetical: bool = False,
    return_completeness: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device=None,
    random_state=0,
    verbose: bool = False,
):
    """DeepLIFT (Rescale rule) of the logit, averaged over the references of each sequence.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, 4, L)`` float32 one-hot to one logit per sequence. Every nonlinearity must be its
        own module (``nn.ReLU``, ``nn.MaxPool1d``, ...), not a functional call.
    X : array-like
        ``(N, 4, L)`` one-hot sequences.
    references : str or array-like, default "zeros"
        ``zeros``, ``base_freq``, ``gc_matched``, ``shuffled`` / ``shuffled<N>``, or an array
        (see :mod:`models.attribution.references`).
    n_refs : int, default 20
        Shuffles per sequence for ``"shuffled"``.
    off_simplex : bool, default False
        Subtract the per-position mean over bases from the multipliers (Majdandzic et al. 2023;
        changes nothing for references whose columns sum to 1).
    hypothetical : bool, default False
        Return the hypothetical contributions of all four bases instead of the contributions.
    return_completeness : bool, default False
        Also return the summation-to-delta check as a :class:`Completeness`.
    batch_size : int, default 256
        (sequence, reference) pairs per pass.
    device : str or torch.device, optional
        Default: the model's device.
    random_state : int, default 0
        Seed of shuffled references.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    np.ndarray or (np.ndarray, Completeness)
        ``(N, 4, L)`` float32: contributions on the observed bases (0 elsewhere), or hypothetical
        contributions.
    """
    X = validate_inputs(X)
    source = ReferenceSource(references, X, n_refs=n_refs, random_state=random_state)
    out = np.zeros_like(X)
    parts = []
    for chunk in deeplift_passes(model, X, source, batch_size=batch_size, device=device, verbose=verbose,
                                 desc="deeplift"):
        x, refs, m = chunk["x"], chunk["refs"], chunk["multipliers"]
        if off_simplex:
            m = off_simplex_correction(m)
        hyp = hypothetical_contributions(m, refs).mean(dim=1)
        out[chunk["index"]] = (hyp if hypothetical else hyp * x).cpu().numpy()
        total = ((x.unsqueeze(1) - refs).double() * m.double()).sum(dim=(2, 3)).mean(dim=1)
        difference = chunk["f_x"].double() - chunk["f_ref"].double().mean(dim=1)
        parts.append(Completeness(difference.cpu().numpy(), total.cpu().numpy()))
    completeness = Completeness.concatenate(parts)
    if not off_simplex:  # the correction moves the sums by design for references off the simplex
        _checked(completeness)
    return (out, completeness) if return_completeness else out


def deepshap(
    model: nn.Module,
    X,
    references="shuffled",
    *,
    n_refs: int = DEFAULT_N_REFS,
    off_simplex: bool = False,
    hypothetical: bool = False,
    return_completeness: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device=None,
    random_state=0,
    verbose: bool = False,
):
    """DeepSHAP: :func:`deeplift` averaged over ``n_refs`` references per sequence (default: 20
    dinucleotide shuffles of each sequence). Parameters and returns as :func:`deeplift`."""
    return deeplift(model, X, references, n_refs=n_refs, off_simplex=off_simplex, hypothetical=hypothetical,
                    return_completeness=return_completeness, batch_size=batch_size, device=device,
                    random_state=random_state, verbose=verbose)


def deeplift_layer(
    model: nn.Module,
    X,
    references="shuffled",
    *,
    layer="first",
    n_refs: int = DEFAULT_N_REFS,
    return_completeness: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device=None,
    random_state=0,
    verbose: bool = False,
):
    """DeepLIFT contributions of a layer's positions, mapped to bases by receptive-field averaging.

    The contribution of position ``p`` is ``sum_c m[c, p] * (a[c, p] - a_ref[c, p])`` for the
    layer's activations ``a``, averaged over the references; base ``j`` then gets the mean over the
    positions whose receptive field contains it (:mod:`models.attribution.receptive_field`).

    Parameters
    ----------
    layer : nn.Module or str, default "first"
        See :func:`~models.attribution._common.resolve_layer` (``"first"``: the first convolution's
        activation when the model names it, else the first convolution).

    Other parameters as :func:`deeplift`.

    Returns
    -------
    np.ndarray or (np.ndarray, Completeness)
        ``(N, L)`` float32; the completeness is checked at the layer, before the mapping.
    """
    from .receptive_field import receptive_field

    X = validate_inputs(X)
    module = resolve_layer(model, layer)
    field = receptive_field(model, module, X.shape[-1], device=device)
    source = ReferenceSource(references, X, n_refs=n_refs, random_state=random_state)
    out = np.zeros((X.shape[0], X.shape[-1]), dtype=np.float32)
    parts = []
    for chunk in deeplift_passes(model, X, source, layer=module, batch_size=batch_size, device=device,
                                 verbose=verbose, desc="deeplift_layer"):
        scores = chunk["layer_contributions"].mean(dim=1)
        out[chunk["index"]] = field.to_bases(scores.cpu().numpy())
        difference = chunk["f_x"].double() - chunk["f_ref"].double().mean(dim=1)
        parts.append(Completeness(difference.cpu().numpy(), scores.sum(dim=1).cpu().numpy()))
    completeness = _checked(Completeness.concatenate(parts))
    return (out, completeness) if return_completeness else out


def _checked(completeness: Completeness) -> Completeness:
    """Warn when summation-to-delta fails beyond float rounding (an operation without a rule)."""
    if completeness.output_difference.size and completeness.relative_error.max() > 1e-3:
        worst = int(completeness.relative_error.argmax())
        warnings.warn(
            f"DeepLIFT attributions miss summation-to-delta by up to {completeness.relative_error.max():.2g} "
            f"(relative; sequence {worst}): the model probably applies a nonlinearity as a function "
            "(F.relu, torch.max, ...) rather than as its own module", RuntimeWarning)
    return completeness
