"""From whatever the attribution method produced to one score per base.

Three steps, in this order: reduce the 4 channels of a per-channel attribution (``channel_reduce``),
map a convolutional-layer attribution of length ``L - k + 1`` to the ``L`` bases, then (in the
caller) take the absolute value.
"""

from __future__ import annotations

import numpy as np

CHANNEL_REDUCTIONS = ("sum", "observed", "max_abs")
CONV_MAPPINGS = ("receptive_field", "linear")

_CODES = np.full(256, 4, dtype=np.uint8)
for _code, _base in enumerate("ACGT"):
    _CODES[ord(_base)] = _code
    _CODES[ord(_base.lower())] = _code
_ONE_HOT = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])


def one_hot_strings(sequences: list[str]) -> np.ndarray:
    """Equal-length DNA strings to ``(n, 4, L)`` float32 one-hot in A, C, G, T order.

    Anything but A, C, G, T (either case) becomes an all-zero column.
    """
    length = len(sequences[0])
    raw = np.frombuffer("".join(sequences).encode("ascii", "replace"), dtype=np.uint8)
    codes = _CODES[raw].reshape(len(sequences), length)
    return np.ascontiguousarray(_ONE_HOT[codes].transpose(0, 2, 1))


def reduce_channels(attributions: np.ndarray, how: str, one_hot: np.ndarray | None = None) -> np.ndarray:
    """``(n, 4, L)`` per-channel attributions to ``(n, L)`` per-base scores.

    Parameters
    ----------
    attributions : (n, 4, L) array
    how : {"sum", "observed", "max_abs"}
        ``"sum"`` adds the four channels (the paper's choice; for "hypothetical contribution x
        one-hot" input it is the observed base's value); ``"observed"`` keeps the channel of the
        observed base (0 at non-ACGT bases); ``"max_abs"`` keeps the signed value of the channel with
        the largest magnitude.
    one_hot : (n, 4, L) array, optional
        The sequences, required by ``"observed"``.

    Sums run in float64 and are rounded once to the input's dtype.
    """
    dtype = _result_dtype(attributions)
    if how == "sum":
        return attributions.sum(axis=1, dtype=np.float64).astype(dtype, copy=False)
    if how == "observed":
        observed = attributions * one_hot.astype(attributions.dtype, copy=False)
        return observed.sum(axis=1, dtype=np.float64).astype(dtype, copy=False)
    if how == "max_abs":
        channel = np.abs(attributions).argmax(axis=1)[:, None, :]
        return np.take_along_axis(attributions, channel, axis=1)[:, 0, :]
    raise ValueError(f"channel_reduce must be one of {CHANNEL_REDUCTIONS}, got {how!r}")


def receptive_field_average(conv: np.ndarray, kernel_size: int) -> np.ndarray:
    """Map ``(n, M)`` conv-layer scores to ``(n, M + k - 1)`` bases (the paper's mapping).

    Conv position ``j`` (stride 1, no padding) sees bases ``j .. j + k - 1``; each base gets the mean
    over every position whose receptive field covers it, i.e. positions
    ``max(0, i - k + 1) .. min(i, M - 1)``.  Sums run in float64 and float32 input comes back as
    float32, so a constant layer maps to exactly that constant (ties survive the mapping).
    """
    n_rows, n_positions = conv.shape
    length = n_positions + kernel_size - 1
    padded = np.zeros((n_rows, n_positions + 2 * (kernel_size - 1)), dtype=np.float64)
    padded[:, kernel_size - 1 : kernel_size - 1 + n_positions] = conv
    total = np.zeros((n_rows, length), dtype=np.float64)
    for offset in range(kernel_size):
        total += padded[:, offset : offset + length]
    base = np.arange(length)
    covering = np.minimum(base, n_positions - 1) - np.maximum(0, base - kernel_size + 1) + 1
    return (total / covering).astype(_result_dtype(conv), copy=False)


def linear_upsample(conv: np.ndarray, length: int, kernel_size: int | None = None) -> np.ndarray:
    """Linearly interpolate ``(n, M)`` scores to ``(n, length)`` bases.

    With ``kernel_size``, conv position ``j`` sits at the centre of its receptive field,
    ``j + (k - 1) / 2``; without it, positions are spread like ``torch.nn.functional.interpolate``
    (``mode="linear", align_corners=False``): base ``i`` reads source coordinate
    ``(i + 0.5) * M / length - 0.5``.  Beyond the first and last source point the edge value holds.
    """
    n_positions = conv.shape[1]
    base = np.arange(length, dtype=np.float64)
    if kernel_size is not None:
        source = base - (kernel_size - 1) / 2.0
    else:
        source = (base + 0.5) * (n_positions / length) - 0.5
    source = np.clip(source, 0.0, n_positions - 1)
    left = np.minimum(np.floor(source).astype(np.int64), n_positions - 1)
    right = np.minimum(left + 1, n_positions - 1)
    weight = source - left
    values = conv.astype(np.float64, copy=False)
    # left + w * (right - left) keeps a constant layer exactly constant.
    mapped = values[:, left] + weight * (values[:, right] - values[:, left])
    return mapped.astype(_result_dtype(conv), copy=False)


def _result_dtype(array: np.ndarray):
    return np.float32 if array.dtype in (np.float32, np.float16) else np.float64
