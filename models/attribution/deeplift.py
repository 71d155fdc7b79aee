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


def dense_units(model: nn.Module) -> list[tuple[nn.Linear, nn.Module | None, nn.Module]]:
    """The dense layers' nonlinearities: ``(linear, batch_norm or None, activation)`` for every
    ``nn.Linear`` directly followed, inside an ``nn.Sequential``, by an elementwise nonlinearity
    (with an ``nn.BatchNorm1d`` between them or not)."""
    units = []
    for container in model.modules():
        if not isinstance(container, nn.Sequential):
            continue
        children = list(container.children())
        for i, linear in enumerate(children):
            if not isinstance(linear, nn.Linear):
                continue
            norm = children[i + 1] if i + 1 < len(children) and isinstance(children[i + 1], nn.BatchNorm1d) else None
            j = i + 1 + (norm is not None)
            if j < len(children) and isinstance(children[j], ELEMENTWISE_NONLINEAR):
                units.append((linear, norm, children[j]))
    return units


class _RevealCancel(torch.autograd.Function):
    """Value ``r_out``; backward: RevealCancel multipliers of a dense unit's input ``r_lin``.

    ``pos_mult`` / ``neg_mult`` ``(P, out)`` are the activation's multipliers of the positive and
    negative parts of its input change; ``weight`` ``(out, in)`` the dense weights (batch-norm scale
    folded in); ``d_in`` ``(P, in)`` the change of the dense layer's input. Input ``j`` inherits, through
    weight ``w_ij``, the multiplier of the part its term ``w_ij d_in_j`` went to (the mean of both when
    ``d_in_j = 0``), as the ``deeplift`` package does.
    """

    @staticmethod
    def forward(ctx, r_lin, r_out, pos_mult, neg_mult, weight, d_in):
        ctx.save_for_backward(pos_mult, neg_mult, weight, d_in)
        return r_out

    @staticmethod
    def backward(ctx, grad):
        pos_mult, neg_mult, weight, d_in = ctx.saved_tensors
        g_pos, g_neg = grad * pos_mult, grad * neg_mult
        w_pos, w_neg = weight.clamp(min=0), weight.clamp(max=0)
        up = g_pos @ w_pos + g_neg @ w_neg  # inputs that increased
        down = g_pos @ w_neg + g_neg @ w_pos  # inputs that decreased
        still = (0.5 * (g_pos + g_neg)) @ weight
        m = torch.where(d_in > 0, up, torch.where(d_in < 0, down, still))
        return m, None, None, None, None, None


class RevealCancelRules(RescaleRules):
    """DeepLIFT's "RSConv" rules: Rescale everywhere except on the dense layers' nonlinearities, which
    take RevealCancel (Shrikumar et al. 2017, section 3.5.3).

    For a dense unit with pre-activation change ``d = d+ + d-`` (``d+`` / ``d-``: the sums of its
    positive / negative terms ``w_ij (x_j - r_j)``) and activation ``f`` at reference pre-activation
    ``r``::

        dy+ = 1/2 (f(r + d+) - f(r)) + 1/2 (f(r + d) - f(r + d-))
        dy- = 1/2 (f(r + d-) - f(r)) + 1/2 (f(r + d) - f(r + d+))

    with ``dy+ + dy- = f(r + d) - f(r)``; the multipliers ``dy+ / d+`` and ``dy- / d-`` go back
    through the dense weights by the sign of each term, so summation-to-delta holds exactly.
    Used as :class:`RescaleRules`.
    """

    def __init__(self, model: nn.Module, eps: float = RESCALE_EPS):
        super().__init__(model, eps)
        self.units = dense_units(model)
        self._linear = {id(linear): (linear, norm) for linear, norm, _ in self.units}
        self._activation = {id(act): linear for linear, _, act in self.units}
        self.modules = self.modules + [linear for linear, _, _ in self.units]
        self._stash = {}

    def _capture(self, module, original, x_in, x_out):
        if id(module) in self._linear:
            return x_in, x_out, None
        return RescaleRules._capture(module, original, x_in, x_out)

    def _apply(self, module, original, cache, r_in):
        if id(module) in self._linear:
            # The unit's activation back-propagates to this input itself; the path through the dense
            # layer (and batch norm) carries values only.
            self._stash[id(module)] = (r_in, cache[0])
            return original(r_in.detach())
        if id(module) not in self._activation:
            return super()._apply(module, original, cache, r_in)
        linear = self._activation[id(module)]
        r_lin, x_lin = self._stash.pop(id(linear))
        norm = self._linear[id(linear)][1]
        x_pre, x_out, _ = cache
        with torch.no_grad():
            weight = linear.weight.double()
            if norm is not None:
                weight = weight * (norm.weight.double() / torch.sqrt(norm.running_var.double() + norm.eps))[:, None]
            n = r_in.shape[0] // x_pre.shape[0]
            d_in = x_lin.double().repeat_interleave(n, 0) - r_lin.detach().double()
            plus, minus = d_in.clamp(min=0), d_in.clamp(max=0)
            d_pos = plus @ weight.clamp(min=0).T + minus @ weight.clamp(max=0).T
            d_neg = minus @ weight.clamp(min=0).T + plus @ weight.clamp(max=0).T
            r_pre = r_in.double()
            f = lambda z: original(z.to(r_in.dtype)).double()  # noqa: E731
            f_r, f_x = f(r_pre), x_out.double().repeat_interleave(n, 0)
            f_pos, f_neg = f(r_pre + d_pos), f(r_pre + d_neg)
            dy_pos = 0.5 * (f_pos - f_r) + 0.5 * (f_x - f_neg)
            dy_neg = 0.5 * (f_neg - f_r) + 0.5 * (f_x - f_pos)
            # Where a part is ~0 its multiplier is the limit of dy/d: 1/2 (f'(r) + f'(r + other part)).
            pos_mult = _ratio(dy_pos, d_pos, lambda: 0.5 * (_slope(f, r_pre) + _slope(f, r_pre + d_neg)), self.eps)
            neg_mult = _ratio(dy_neg, d_neg, lambda: 0.5 * (_slope(f, r_pre) + _slope(f, r_pre + d_pos)), self.eps)
            r_out = original(r_in)
        dtype = r_in.dtype
        return _RevealCancel.apply(r_lin, r_out, pos_mult.to(dtype), neg_mult.to(dtype), weight.to(dtype),
                                   d_in.to(dtype))


def _slope(f, z: torch.Tensor) -> torch.Tensor:
    with torch.enable_grad():
        z = z.detach().requires_grad_()
        y = f(z)
        return torch.autograd.grad(y, z, torch.ones_like(y))[0]


def _ratio(dy: torch.Tensor, d: torch.Tensor, limit, eps: float) -> torch.Tensor:
    small = d.abs() < eps
    ratio = dy / d.masked_fill(small, 1.0)
    return torch.where(small, limit(), ratio) if small.any() else ratio


RULES = {"rescale": RescaleRules, "revealcancel": RevealCancelRules}


def deeplift_passes(model: nn.Module, X: np.ndarray, source: ReferenceSource, *, layer: nn.Module | None = None,
                    rule: str = "rescale", batch_size: int = DEFAULT_BATCH_SIZE, device=None, verbose: bool = False, desc: str = "deeplift"):
    """Run DeepLIFT over ``X`` chunk by chunk (the engine behind every DeepLIFT function).

    ``rule``: ``"rescale"`` (:class:`RescaleRules`) or ``"revealcancel"`` (:class:`RevealCancelRules`).

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

    with evaluating(model, device) as device, _rules(rule)(model) as rules, progress(total=len(X), desc=desc, unit="seq", verbose=verbose) as bar:
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
    rule: str = "rescale",
    off_simplex: bool = False,
    hypothetical: bool = False,
    return_completeness: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device=None,
    random_state=0,
    verbose: bool = False,
):
    """DeepLIFT (Rescale rule, or RevealCancel on the dense layers) of the logit, averaged over the references of each sequence.

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
    rule : {"rescale", "revealcancel"}, default "rescale"
        ``"revealcancel"``: RevealCancel on the dense layers' nonlinearities, Rescale elsewhere
        (deeplift's genomics default, the paper's "RSConv"; :class:`RevealCancelRules`).
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
    for chunk in deeplift_passes(model, X, source, rule=rule, batch_size=batch_size, device=device,
                                 verbose=verbose, desc="deeplift"):
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
    rule: str = "rescale",
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
    return deeplift(model, X, references, n_refs=n_refs, rule=rule, off_simplex=off_simplex, hypothetical=hypothetical,
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


def _rules(rule: str):
    if rule not in RULES:
        raise ValueError(f"unknown DeepLIFT rule {rule!r}; choose from {', '.join(RULES)}")
    return RULES[rule]


def _checked(completeness: Completeness) -> Completeness:
    """Warn when summation-to-delta fails beyond float rounding (an operation without a rule)."""
    if completeness.output_difference.size and completeness.relative_error.max() > 1e-3:
        worst = int(completeness.relative_error.argmax())
        warnings.warn(
            f"DeepLIFT attributions miss summation-to-delta by up to {completeness.relative_error.max():.2g} "
            f"(relative; sequence {worst}): the model probably applies a nonlinearity as a function "
            "(F.relu, torch.max, ...) rather than as its own module", RuntimeWarning)
    return completeness
