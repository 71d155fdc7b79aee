"""Layer attributions mapped to bases: GradCAM, the Zheng et al. (AgentBind) variant, grad x activation.

For a convolution layer's activations ``A`` ``(C, P)`` and the gradient ``G`` of the logit with
respect to them:

- ``gradcam``: channel weights ``w_c = mean_p G[c, p]`` (Selvaraju et al.; the paper's definition),
  position scores ``ReLU(sum_c w_c A[c, p])``;
- ``grad_x_act``: position scores ``sum_c G[c, p] A[c, p]`` (signed);
- ``zheng``: GradCAM at the first convolution layer, mapped to bases, times the input gradient at
  the observed base (gradient x input), as in AgentBind (Zheng et al. 2021).

Position scores become base scores by receptive-field averaging (base ``j`` gets the mean over the
positions whose effective receptive field contains it, strides and pooling included; see
:mod:`models.attribution.receptive_field`), or, for :func:`gradcam` with ``mapping="linear"``, by
linear interpolation between receptive-field centres. ``layer="first"`` / ``"last"`` take the model's
``first_conv_activation`` / ``last_conv_activation`` (the rectified maps GradCAM is defined on) when
it names them, else ``first_conv`` / ``last_conv``, else the first / last ``nn.Conv1d``.
DeepLIFT at a layer is :func:`models.attribution.deeplift.deeplift_layer`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._common import (
    batch_slices,
    evaluating,
    off_simplex_correction,
    resolve_layer,
    to_tensor,
    validate_inputs,
)
from regsim.dataset_builder.core.log import progress
from .gradients import gradients_at
from .receptive_field import receptive_field

DEFAULT_BATCH_SIZE = 128


def _layer_method(model, X, layer, score, *, input_gradient, batch_size, device, verbose, desc, mapping="average"):
    X = validate_inputs(X)
    module = resolve_layer(model, layer)
    field = receptive_field(model, module, X.shape[-1], device=device)
    out = np.zeros((X.shape[0], X.shape[-1]), dtype=np.float32)
    grads = np.zeros_like(X) if input_gradient else None
    with evaluating(model, device) as device, progress(total=len(X), desc=desc, unit="seq", verbose=verbose) as bar:
        for index in batch_slices(len(X), batch_size):
            grad_x, act, grad_act = gradients_at(model, to_tensor(X[index], device), module,
                                                 input_gradient=input_gradient)
            if act.ndim != 3:
                raise ValueError(f"layer {type(module).__name__} outputs shape {tuple(act.shape)}; expected (N, C, P)")
            out[index] = field.to_bases(score(act, grad_act).double().cpu().numpy(), mapping)
            if input_gradient:
                grads[index] = grad_x.cpu().numpy()
            bar.update(index.stop - index.start)
    return (out, grads) if input_gradient else out


def _gradcam_scores(act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    weights = grad.mean(dim=2, keepdim=True)
    return torch.relu((weights * act).sum(dim=1))


def _grad_x_act_scores(act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    return (grad * act).sum(dim=1)


def gradcam(model: nn.Module, X, *, layer="last", mapping: str = "average", batch_size: int = DEFAULT_BATCH_SIZE,
            device=None, random_state=0, verbose: bool = False) -> np.ndarray:
    """GradCAM at a convolution layer, mapped to bases.

    Parameters
    ----------
    model : nn.Module
        Maps ``(N, 4, L)`` float32 one-hot to one logit per sequence.
    X : array-like
        ``(N, 4, L)`` one-hot sequences.
    layer : nn.Module or str, default "last"
        ``"last"``, ``"first"``, a module of ``model`` or an attribute path.
    mapping : {"average", "linear"}, default "average"
        How position scores become base scores (:meth:`ReceptiveField.to_bases`): receptive-field
        averaging, or linear interpolation between receptive-field centres (the paper's choice for the
        last layer; ``regsim attribute``'s ``gradcam_last`` uses it).
    batch_size : int, default 128
        Sequences per pass.
    device : str or torch.device, optional
        Default: the model's device.
    random_state : int, default 0
        Unused (deterministic method); part of the common signature.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    np.ndarray
        ``(N, L)`` float32, non-negative.
    """
    return _layer_method(model, X, layer, _gradcam_scores, input_gradient=False, batch_size=batch_size,
                         device=device, verbose=verbose, desc="gradcam", mapping=mapping)


def grad_x_act(model: nn.Module, X, *, layer="first", batch_size: int = DEFAULT_BATCH_SIZE, device=None,
               random_state=0, verbose: bool = False) -> np.ndarray:
    """Gradient x activation summed over a layer's channels, mapped to bases.

    Parameters as :func:`gradcam` (default ``layer="first"``).

    Returns
    -------
    np.ndarray
        ``(N, L)`` float32.
    """
    return _layer_method(model, X, layer, _grad_x_act_scores, input_gradient=False, batch_size=batch_size,
                         device=device, verbose=verbose, desc="grad_x_act")


def zheng(model: nn.Module, X, *, layer="first", off_simplex: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
          device=None, random_state=0, verbose: bool = False) -> np.ndarray:
    """GradCAM at the first convolution layer times gradient x input (Zheng et al. 2021, AgentBind).

    Parameters as :func:`gradcam` (default ``layer="first"``), plus

    off_simplex : bool, default False
        Correct the input gradient (per-position mean over bases subtracted) first.

    Returns
    -------
    np.ndarray
        ``(N, 4, L)`` float32, non-zero only at the observed bases.
    """
    X = validate_inputs(X)
    cam, grads = _layer_method(model, X, layer, _gradcam_scores, input_gradient=True, batch_size=batch_size,
                               device=device, verbose=verbose, desc="zheng")
    if off_simplex:
        grads = off_simplex_correction(grads)
    return (cam[:, None, :] * grads * X).astype(np.float32)
