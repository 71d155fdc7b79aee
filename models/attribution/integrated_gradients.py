"""Integrated Gradients (Sundararajan et al. 2017) from any reference set, averaged over references.

For a sequence ``x`` and reference ``r`` the gradient of the logit is integrated along the straight
path ``r + a (x - r)``, ``a`` in ``[0, 1]``, with ``n_steps`` quadrature nodes (captum's rules and
names: ``gausslegendre`` by default, ``riemann_left``, ``riemann_right``, ``riemann_middle``,
``riemann_trapezoid``). With ``G`` the integrated gradient, the contributions are
``(x - r) * G``; like DeepLIFT's they are reported on the observed base (the per-position sum of the
contributions, :func:`~models.attribution.deeplift.hypothetical_contributions` times ``x``) and
averaged over the references. The convergence delta is ``sum of contributions - (f(x) - f(r))``,
returned as a :class:`~models.attribution._common.Completeness` with ``return_completeness=True``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from regsim.dataset_builder.core.errors import UserError

from ._common import (
    Completeness,
    batch_slices,
    evaluating,
    logits,
    off_simplex_correction,
    to_tensor,
    validate_inputs,
)
from regsim.dataset_builder.core.log import progress
from .deeplift import hypothetical_contributions
from .references import DEFAULT_N_REFS, ReferenceSource

DEFAULT_BATCH_SIZE = 128
DEFAULT_N_STEPS = 20
RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


def path_nodes(n_steps: int, method: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes ``a`` in ``[0, 1]`` and weights for ``n_steps`` steps (captum's definitions)."""
    if n_steps < 1 or (method == "riemann_trapezoid" and n_steps < 2):
        raise UserError(f"n_steps must be at least {2 if method == 'riemann_trapezoid' else 1}, got {n_steps}")
    n = n_steps
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return 0.5 * (nodes + 1), 0.5 * weights
    if method == "riemann_trapezoid":
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0, 1, n), weights
    offsets = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}
    if method not in offsets:
        raise UserError(f"unknown integration method {method!r}; choose from {', '.join(RULES)}")
    return (np.arange(n) + offsets[method]) / n, np.full(n, 1.0 / n)


def integrated_gradients(
    model: nn.Module,
    X,
    references="zeros",
    *,
    n_refs: int = DEFAULT_N_REFS,
    n_steps: int = DEFAULT_N_STEPS,
    method: str = "gausslegendre",
    off_simplex: bool = False,
    hypothetical: bool = False,
    return_completeness: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device=None,
    random_state=0,
    verbose: bool = False,
):
    """Integrated Gradients of the logit, averaged over a reference set.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, 4, L)`` float32 one-hot to one logit per sequence.
    X : array-like
        ``(N, 4, L)`` one-hot sequences.
    references : str or array-like, default "zeros"
        ``zeros``, ``base_freq``, ``gc_matched``, ``shuffled`` / ``shuffled<N>``, or an array
        (see :mod:`models.attribution.references`).
    n_refs : int, default 20
        Shuffles per sequence for ``"shuffled"``.
    n_steps : int, default 20
        Quadrature nodes along each path.
    method : str, default "gausslegendre"
        Quadrature rule (captum's names).
    off_simplex : bool, default False
        Correct the integrated gradient (per-position mean over bases subtracted) before use.
    hypothetical : bool, default False
        Return the hypothetical contributions of all four bases instead of the contributions of
        the observed bases.
    return_completeness : bool, default False
        Also return the convergence delta as a :class:`Completeness`.
    batch_size : int, default 128
        Path points per forward/backward pass.
    device : str or torch.device, optional
        Default: the model's device.
    random_state : int, default 0
        Seed of shuffled references.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    np.ndarray or (np.ndarray, Completeness)
        ``(N, 4, L)`` float32.
    """
    X = validate_inputs(X)
    source = ReferenceSource(references, X, n_refs=n_refs, random_state=random_state)
    alphas, weights = path_nodes(n_steps, method)
    R, S = source.n_refs, len(alphas)
    out = np.zeros_like(X)
    parts = []
    per_chunk = max(1, batch_size // (R * S))
    with evaluating(model, device) as device, progress(total=len(X), desc="integrated_gradients", unit="seq", verbose=verbose) as bar:
        a = torch.tensor(alphas, dtype=torch.float32, device=device).view(1, 1, S, 1, 1)
        w = torch.tensor(weights, dtype=torch.float32, device=device).view(1, 1, S, 1, 1)
        for index in batch_slices(len(X), per_chunk):
            x = to_tensor(X[index], device)
            refs = to_tensor(source.batch(index, X[index]), device)
            b = x.shape[0]
            points = (refs.unsqueeze(2) + a * (x[:, None, None] - refs.unsqueeze(2))).reshape(-1, *x.shape[1:])
            grads = torch.empty_like(points)
            for rows in batch_slices(len(points), batch_size):
                p = points[rows].requires_grad_()
                with torch.enable_grad():
                    grads[rows] = torch.autograd.grad(logits(model, p).sum(), p)[0]
            integrated = (grads.view(b, R, S, *x.shape[1:]) * w).sum(dim=2)
            if off_simplex:
                integrated = off_simplex_correction(integrated)
            with torch.no_grad():
                f_x = torch.cat([logits(model, x[r]) for r in batch_slices(b, batch_size)])
                flat_refs = refs.reshape(-1, *x.shape[1:])
                f_ref = torch.cat([logits(model, flat_refs[r]) for r in batch_slices(len(flat_refs), batch_size)])
            contributions = ((x[:, None] - refs) * integrated).sum(dim=(2, 3)).mean(dim=1)
            parts.append(Completeness(
                (f_x - f_ref.view(b, R).mean(dim=1)).double().cpu().numpy(),
                contributions.double().cpu().numpy(),
            ))
            hyp = hypothetical_contributions(integrated, refs).mean(dim=1)
            out[index] = (hyp if hypothetical else hyp * x).cpu().numpy()
            bar.update(b)
    return (out, Completeness.concatenate(parts)) if return_completeness else out
