"""Helpers shared by every attribution method.

- :func:`validate_inputs`, the one input check (one-hot sequences and reference arrays);
- :func:`logits` / :func:`output_logits`: one logit per sequence from any model output (a tensor of
  shape ``(N,)`` or ``(N, 1)``, a tuple whose first item is one, or a ``ModelOutput`` with ``.logits``);
- :func:`evaluating`: the model on the right device, in eval mode, parameters frozen, in-place
  activations switched off, all restored afterwards;
- batching, progress bars, the off-simplex gradient correction, layer lookup and
  :class:`Completeness` (summation-to-delta bookkeeping).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from regsim.dataset_builder.core.errors import UserError

# Relative completeness errors are taken relative to |f(x) - mean f(ref)|, floored at this value (in
# logit units). Logits are float32, whose rounding alone moves a difference of O(1) logits by ~1e-7,
# so a difference below 0.01 cannot be checked to 1e-4 relative; below the floor the error is taken
# relative to 0.01 (measured: a trained model's 1.3e-3 difference was off by 1.4e-7, float32 noise).
COMPLETENESS_FLOOR = 1e-2


def validate_inputs(X, *, name: str = "X", one_hot: bool = True, ndim: int = 3) -> np.ndarray:
    """Check and convert sequences (or reference arrays) to contiguous float32 numpy.

    Parameters
    ----------
    X : array-like or torch.Tensor
        ``(N, 4, L)`` one-hot in A, C, G, T order (``ndim=3``), or references ``(N, R, 4, L)``
        (``ndim=4``). All-zero columns (N or other bases) are allowed.
    name : str, default "X"
        Name used in error messages.
    one_hot : bool, default True
        Require every column to be one-hot or all zero. False only requires finite values (for
        references such as base frequencies).
    ndim : int, default 3

    Returns
    -------
    np.ndarray
        float32, C-contiguous, same shape.

    Raises
    ------
    UserError
        Wrong shape, non-finite values, or a column that is not one-hot (naming the example and
        position).
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise UserError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim != ndim or X.shape[-2] != 4:
        shape = "(N, 4, L)" if ndim == 3 else "(N, R, 4, L)"
        raise UserError(f"{name} must have shape {shape} (one-hot, A, C, G, T order), got {X.shape}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.isfinite(X).all():
        where = np.argwhere(~np.isfinite(X))[0]
        raise UserError(f"{name}: example {where[0]} has a non-finite value at index {tuple(where[1:])}")
    if one_hot:
        bad = ((X != 0) & (X != 1)).any(axis=-2) | (X.sum(axis=-2) > 1)
        if bad.any():
            where = np.argwhere(bad)[0]
            raise UserError(
                f"{name}: example {where[0]}, position {where[-1]} is not one-hot "
                f"(column {X[tuple(where[:-1])][..., where[-1]].tolist()})"
            )
    return X


def output_logits(output) -> torch.Tensor:
    """The one logit per sequence in a model's output, as an ``(N,)`` tensor.

    Accepts a tensor ``(N,)`` or ``(N, 1)`` (or ``(N, 1, 1)``), a tuple/list whose first item is
    one, or an object with a ``logits`` attribute (``transformers`` ``ModelOutput``).
    """
    if hasattr(output, "logits") and not isinstance(output, torch.Tensor):
        output = output.logits
    if isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise UserError(f"the model returned {type(output).__name__}; expected a tensor of logits")
    if output.ndim == 0 or output.shape[1:].numel() != 1:
        raise UserError(
            f"the model returned shape {tuple(output.shape)}; attribution explains one logit per "
            "sequence, so the output must be (N,) or (N, 1)"
        )
    return output.reshape(output.shape[0])


def logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``output_logits(model(x))``: the ``(N,)`` pre-sigmoid logits of ``x`` ``(N, 4, L)``."""
    return output_logits(model(x))


def resolve_device(model: nn.Module, device) -> torch.device:
    """``device`` if given, else the device of the model's parameters (CPU for a parameter-free model)."""
    if device is not None:
        return torch.device(device)
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def evaluating(model: nn.Module, device):
    """Hold ``model`` on ``device`` in eval mode with frozen parameters and no in-place activations.

    Frozen parameters spare every backward pass the weight gradients; in-place activations
    (``nn.ReLU(inplace=True)``) would overwrite the inputs that DeepLIFT's hooks read. Everything is
    put back on exit, also after an error.

    Yields
    ------
    torch.device
    """
    device = resolve_device(model, device)
    params = list(model.parameters())
    old_device = params[0].device if params else None
    old_training = model.training
    old_requires_grad = [p.requires_grad for p in params]
    inplace = [m for m in model.modules() if getattr(m, "inplace", False) is True]
    model.to(device).eval()
    for p in params:
        p.requires_grad_(False)
    for m in inplace:
        m.inplace = False
    try:
        yield device
    finally:
        for m in inplace:
            m.inplace = True
        for p, flag in zip(params, old_requires_grad):
            p.requires_grad_(flag)
        model.train(old_training)
        if old_device is not None and old_device != device:
            model.to(old_device)


def batch_slices(n: int, size: int):
    """Consecutive ``slice`` objects of at most ``size`` items covering ``range(n)``."""
    if size < 1:
        raise UserError(f"batch_size must be a positive integer, got {size}")
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def off_simplex_correction(gradient):
    """Majdandzic et al. (Genome Biology 2023): subtract, at every position, the mean over the four bases.

    A one-hot input lives on the simplex (the four channels sum to 1), so the gradient component
    along ``(1, 1, 1, 1)`` points off the data manifold and is noise; removing it leaves the part
    that compares bases. Works on numpy arrays and tensors of shape ``(..., 4, L)``.
    """
    return gradient - gradient.mean(axis=-2, keepdims=True) if isinstance(gradient, np.ndarray) else \
        gradient - gradient.mean(dim=-2, keepdim=True)


def resolve_layer(model: nn.Module, layer) -> nn.Module:
    """Find a layer of ``model``.

    Parameters
    ----------
    layer : nn.Module, str
        A module of ``model``; ``"first"`` / ``"last"`` (the model's ``first_conv_activation`` /
        ``last_conv_activation`` if it names them, else ``first_conv`` / ``last_conv``, else the
        first / last ``nn.Conv1d`` in module order); or a dotted attribute path such as
        ``"conv_blocks.0.activation"``.

    Returns
    -------
    nn.Module
    """
    if isinstance(layer, nn.Module):
        if not any(m is layer for m in model.modules()):
            raise UserError(f"layer {type(layer).__name__} is not a module of the model")
        return layer
    if layer in ("first", "last"):
        for attribute in (f"{layer}_conv_activation", f"{layer}_conv"):
            module = getattr(model, attribute, None)
            if isinstance(module, nn.Module):
                return module
        convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
        if not convs:
            raise UserError(f"the model has no nn.Conv1d layer for layer={layer!r}; pass the layer itself")
        return convs[0] if layer == "first" else convs[-1]
    if isinstance(layer, str):
        try:
            return model.get_submodule(layer)
        except AttributeError:
            pass
        module = model
        for part in layer.split("."):
            module = getattr(module, part, None)
        if isinstance(module, nn.Module):
            return module
        raise UserError(f"the model has no layer {layer!r}")
    raise UserError(f"layer must be an nn.Module, 'first', 'last' or an attribute path, got {layer!r}")


@dataclass
class Completeness:
    """Summation-to-delta of one attribution run.

    Attributes
    ----------
    output_difference : np.ndarray
        ``(N,)`` ``f(x) - mean_r f(reference_r)``.
    attribution_sum : np.ndarray
        ``(N,)`` the sum of the attributions (before projection onto the observed bases).
    """

    output_difference: np.ndarray
    attribution_sum: np.ndarray

    @property
    def absolute_error(self) -> np.ndarray:
        """``(N,)`` ``|sum of attributions - output difference|``."""
        return np.abs(self.attribution_sum - self.output_difference)

    @property
    def relative_error(self) -> np.ndarray:
        """``(N,)`` absolute error over ``max(|output difference|, COMPLETENESS_FLOOR)``."""
        return self.absolute_error / np.maximum(np.abs(self.output_difference), COMPLETENESS_FLOOR)

    def summary(self) -> dict:
        """``completeness_max_rel``, ``completeness_median_rel`` and ``completeness_max_abs``."""
        if self.output_difference.size == 0:
            return {"completeness_max_rel": None, "completeness_median_rel": None, "completeness_max_abs": None}
        rel = self.relative_error
        return {
            "completeness_max_rel": float(rel.max()),
            "completeness_median_rel": float(np.median(rel)),
            "completeness_max_abs": float(self.absolute_error.max()),
        }

    @classmethod
    def concatenate(cls, parts: list["Completeness"]) -> "Completeness":
        if not parts:
            return cls(np.zeros(0, np.float64), np.zeros(0, np.float64))
        return cls(
            np.concatenate([p.output_difference for p in parts]),
            np.concatenate([p.attribution_sum for p in parts]),
        )


def to_tensor(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """A float32 tensor on ``device`` sharing memory with ``X`` on the CPU."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    return torch.from_numpy(X if X.flags.writeable else X.copy()).to(device)
