"""Fused CPU kernels (numba) behind documented wrappers: :func:`rescale_secant` for DeepLIFT's Rescale
rule and :func:`window_inputs` for fast ISM.

The secant ``(y - y_ref) / (x - x_ref)`` of an elementwise nonlinearity, for every (sequence,
reference) pair, is one pass over the references' activations here instead of the six tensor
operations (two differences, a division, an absolute value, a comparison, a select) it takes in
torch; on the first convolution's activations those passes cost more than the convolution.
:func:`rescale_secant` falls back to the same formula in torch for other devices and dtypes.
"""

from __future__ import annotations

import numba
import torch


@numba.njit(parallel=True, cache=True)
def _relu_secant(x_in, r_in, out, eps):
    rows, width = r_in.shape
    n = rows // x_in.shape[0]
    for row in numba.prange(rows):
        i = row // n
        for j in range(width):
            a = x_in[i, j]
            r = r_in[row, j]
            d = a - r
            if abs(d) < eps:
                out[row, j] = 1.0 if a > 0 else 0.0
            else:
                out[row, j] = (max(a, 0.0) - max(r, 0.0)) / d


@numba.njit(parallel=True, cache=True)
def _secant(x_in, x_out, derivative, r_in, r_out, out, eps):
    rows, width = r_in.shape
    n = rows // x_in.shape[0]
    for row in numba.prange(rows):
        i = row // n
        for j in range(width):
            d = x_in[i, j] - r_in[row, j]
            if abs(d) < eps:
                out[row, j] = derivative[i, j]
            else:
                out[row, j] = (x_out[i, j] - r_out[row, j]) / d


def _numba_ok(*tensors) -> bool:
    return all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)


def rescale_secant(x_in, x_out, derivative, r_in, r_out, eps: float, relu: bool = False) -> torch.Tensor:
    """Rescale multipliers of an elementwise nonlinearity for (sequence, reference) pairs.

    Parameters
    ----------
    x_in, x_out, derivative : torch.Tensor
        ``(b, ...)`` the sequences' input, output and derivative at the input (``x_out`` and
        ``derivative`` unused when ``relu``).
    r_in, r_out : torch.Tensor
        ``(b * n, ...)`` the references' input and output, sequence-major.
    eps : float
        Below this ``|x_in - r_in|`` the derivative is used.
    relu : bool, default False
        The nonlinearity is ``max(0, x)`` (a cheaper kernel).

    Returns
    -------
    torch.Tensor
        ``(b * n, ...)`` float secants.
    """
    b = x_in.shape[0]
    if _numba_ok(x_in, r_in) and (relu or _numba_ok(x_out, derivative, r_out)):
        out = torch.empty_like(r_in)
        flat = lambda t: t.detach().contiguous().reshape(t.shape[0], -1).numpy()  # noqa: E731
        if relu:
            _relu_secant(flat(x_in), flat(r_in), out.view(out.shape[0], -1).numpy(), eps)
        else:
            _secant(flat(x_in), flat(x_out), flat(derivative), flat(r_in), flat(r_out),
                    out.view(out.shape[0], -1).numpy(), eps)
        return out
    pairs = (b, -1, *x_in.shape[1:])
    if relu:
        x_out, r_out, derivative = x_in.clamp_min(0), r_in.clamp_min(0), (x_in > 0).to(x_in.dtype)
    d_in = x_in.unsqueeze(1) - r_in.reshape(pairs)
    secant = (x_out.unsqueeze(1) - r_out.reshape(pairs)) / d_in
    secant = torch.where(d_in.abs() < eps, derivative.unsqueeze(1).expand_as(secant), secant)
    return secant.reshape(r_in.shape)


@numba.njit(parallel=True, cache=True)
def _window_inputs(cache, seq, start, prev, prev_offset, out):
    mutants, channels, width = out.shape
    prev_width = prev.shape[2]
    for m in numba.prange(mutants):
        s, a, r = seq[m], start[m], prev_offset[m]
        for c in range(channels):
            for t in range(width):
                k = t - r
                if 0 <= k < prev_width:
                    out[m, c, t] = prev[m, c, k]
                else:
                    out[m, c, t] = cache[s, c, a + t]


def window_inputs(cache, seq, start, prev, prev_offset, width: int) -> torch.Tensor:
    """Each mutant's input window to a layer: the cached activations with the mutant's changed window.

    Parameters
    ----------
    cache : torch.Tensor
        ``(c, C, Lp)`` the unmutated sequences' activations, padded with the layer's pad value.
    seq, start : torch.Tensor
        ``(M,)`` int64: each mutant's sequence (row of ``cache``) and first window position in
        ``cache``'s (padded) coordinates.
    prev, prev_offset : torch.Tensor
        ``(M, C, W)`` the mutants' recomputed previous window and ``(M,)`` int64 where it starts,
        relative to ``start``.
    width : int
        Window width ``V``.

    Returns
    -------
    torch.Tensor
        ``(M, C, V)``: ``prev`` where it covers the window, ``cache`` elsewhere.
    """
    m, channels = len(seq), cache.shape[1]
    if _numba_ok(cache, prev) and seq.device.type == "cpu":
        out = torch.empty(m, channels, width, dtype=cache.dtype)
        _window_inputs(cache.contiguous().numpy(), seq.numpy(), start.numpy(), prev.contiguous().numpy(),
                       prev_offset.numpy(), out.numpy())
        return out
    offsets = torch.arange(width, device=cache.device)
    index = start[:, None] + offsets
    values = cache[seq[:, None, None], torch.arange(channels, device=cache.device)[None, :, None], index[:, None, :]]
    rel = offsets[None, :] - prev_offset[:, None]
    inside = (rel >= 0) & (rel < prev.shape[2])
    spliced = prev.gather(2, rel.clamp(0, prev.shape[2] - 1)[:, None, :].expand(m, channels, width))
    return torch.where(inside[:, None, :], spliced, values)


__all__ = ["rescale_secant", "window_inputs"]
