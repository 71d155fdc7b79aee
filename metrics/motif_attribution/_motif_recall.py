"""Motif-instance recall: does each ground-truth instance stand out from its own sequence?

For an instance ``[s, e)`` of width ``w`` in a sequence of length ``L``, its score is the mean
per-base score over ``[s, e)``.  The background is every window ``[b, b + w)``, ``0 <= b <= L - w``,
of the same sequence that contains no motif base of any instance.  The instance's percentile is
``(#background below + 0.5 * #background equal) / #background``; it counts as recovered when the
percentile is at least ``recall_quantile``.  Instances with no background window are not scored.
"""

from __future__ import annotations

import numpy as np

_MAX_CELLS = 1 << 23  # instances x windows compared at once


def window_sums(values: np.ndarray, width: int) -> np.ndarray:
    """Sums of every length-``width`` window of each row, ``(R, L - width + 1)``.

    Built from power-of-two block sums, so every window is added up by the same sequence of
    operations: windows with equal contents get bit-identical sums (a constant attribution gives
    exact ties, which a cumulative-sum difference would break by rounding).
    """
    blocks = {1: values}
    size = 1
    while size * 2 <= width:
        previous = blocks[size]
        blocks[size * 2] = previous[:, :-size] + previous[:, size:]
        size *= 2
    n_windows = values.shape[1] - width + 1
    total, offset = None, 0
    while size >= 1:
        if width - offset >= size:
            part = blocks[size][:, offset : offset + n_windows]
            total = part.copy() if total is None else total + part
            offset += size
        size //= 2
    return total


def instance_percentiles(
    scores: np.ndarray,
    mask: np.ndarray,
    row: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> np.ndarray:
    """Percentile of each instance among its sequence's motif-free windows (NaN: none exist)."""
    percentile = np.full(len(row), np.nan)
    if len(row) == 0:
        return percentile
    length = scores.shape[1]
    motif_bases = np.zeros((scores.shape[0], length + 1), dtype=np.int64)
    np.cumsum(mask, axis=1, out=motif_bases[:, 1:])
    width = end - start
    for w in np.unique(width):
        chosen = np.flatnonzero(width == w)
        rows, local = np.unique(row[chosen], return_inverse=True)
        sums = window_sums(scores[rows].astype(np.float64), int(w))
        free = (motif_bases[rows, w:] - motif_bases[rows, : length - w + 1]) == 0
        step = max(1, _MAX_CELLS // sums.shape[1])
        for first in range(0, len(chosen), step):
            part = slice(first, first + step)
            own = sums[local[part], start[chosen[part]]][:, None]
            window, background = sums[local[part]], free[local[part]]
            below = np.count_nonzero((window < own) & background, axis=1)
            equal = np.count_nonzero((window == own) & background, axis=1)
            n_background = np.count_nonzero(background, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                percentile[chosen[part]] = np.where(
                    n_background > 0, (below + 0.5 * equal) / np.maximum(n_background, 1), np.nan
                )
    return percentile
