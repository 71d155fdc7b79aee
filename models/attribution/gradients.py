"""Gradient attributions: ``saliency`` (the signed input gradient) and ``grad_x_input``.

Both explain the pre-sigmoid logit. With ``off_simplex=True`` the gradient is corrected as in
Majdandzic et al. (Genome Biology 2023): at every position the mean over the four bases is
subtracted before use.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._common import batch_slices, evaluating, logits, off_simplex_correction, to_tensor, validate_inputs
from regsim.dataset_builder.core.log import progress

DEFAULT_BATCH_SIZE = 128


def gradients_at(model: nn.Module, x: torch.Tensor, layer: nn.Module | None = None, *, input_gradient: bool = True):
    """One forward and one backward pass of ``sum(logits(model, x))``.

    Parameters
    ----------
    model : nn.Module
        In eval mode, on ``x``'s device.
    x : torch.Tensor
        ``(b, 4, L)``.
    layer : nn.Module, optional
        Also return this module's output and the gradient with respect to it.
    input_gradient : bool, default True

    Returns
    -------
    tuple
        ``(input gradient (b, 4, L) or None, activation (b, C, P) or None, its gradient or None)``.
    """
    captured = {}
    handle = None
    if layer is not None:
        def hook(module, inputs, output):
            captured["act"] = output
        handle = layer.register_forward_hook(hook)
    try:
        x = x.detach().requires_grad_()  # the parameters are frozen: without this there is no graph
        with torch.enable_grad():
            out = logits(model, x)
            wrt = ([x] if input_gradient else []) + ([captured["act"]] if layer is not None else [])
            grads = torch.autograd.grad(out.sum(), wrt)
    finally:
        if handle is not None:
            handle.remove()
    grad_x = grads[0] if input_gradient else None
    act = captured["act"].detach() if layer is not None else None
    grad_act = grads[-1] if layer is not None else None
    return grad_x, act, grad_act


def input_gradients(model: nn.Module, X, *, off_simplex: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                    device=None, verbose: bool = False, desc: str = "gradients") -> np.ndarray:
    """Gradient of the logit with respect to the one-hot input, ``(N, 4, L)`` float32."""
    X = validate_inputs(X)
    out = np.zeros_like(X)
    with evaluating(model, device) as device, progress(total=len(X), desc=desc, unit="seq", verbose=verbose) as bar:
        for index in batch_slices(len(X), batch_size):
            grad, _, _ = gradients_at(model, to_tensor(X[index], device))
            if off_simplex:
                grad = off_simplex_correction(grad)
            out[index] = grad.cpu().numpy()
            bar.update(index.stop - index.start)
    return out


def saliency(model: nn.Module, X, *, off_simplex: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
             device=None, random_state=0, verbose: bool = False) -> np.ndarray:
    """Signed gradient of the logit at every base.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, 4, L)`` float32 one-hot to one logit per sequence.
    X : array-like
        ``(N, 4, L)`` one-hot sequences.
    off_simplex : bool, default False
        Subtract the per-position mean over the four bases (Majdandzic et al. 2023).
    batch_size : int, default 128
        Sequences per forward/backward pass.
    device : str or torch.device, optional
        Default: the model's device.
    random_state : int, default 0
        Unused (deterministic method); part of the common signature.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    np.ndarray
        ``(N, 4, L)`` float32 gradients at all four bases of every position.
    """
    return input_gradients(model, X, off_simplex=off_simplex, batch_size=batch_size, device=device,
                           verbose=verbose, desc="saliency")


def grad_x_input(model: nn.Module, X, *, off_simplex: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                 device=None, random_state=0, verbose: bool = False) -> np.ndarray:
    """Gradient times input: the gradient at the observed base, 0 at the other three.

    Parameters are those of :func:`saliency`.

    Returns
    -------
    np.ndarray
        ``(N, 4, L)`` float32.
    """
    X = validate_inputs(X)
    grad = input_gradients(model, X, off_simplex=off_simplex, batch_size=batch_size, device=device,
                           verbose=verbose, desc="grad_x_input")
    return grad * X
