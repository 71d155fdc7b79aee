"""Tie-aware ranking kernels: per-sequence auROC, auPRC and top-k hits; pooled metrics from counts.

Conventions shared by every kernel here:

* Ties get average ranks, so the auROC is the Mann-Whitney statistic with ties counted one half,
  which is what ``sklearn.metrics.roc_auc_score`` computes (constant scores give 0.5).
* The auPRC is scikit-learn's ``average_precision_score``: a step function over the *distinct*
  thresholds, so a tie group is one threshold and all its positives get the precision at its end.
* "Top-k" counts under ties are expectations over a uniformly random order within the tie group
  that straddles the cut, so they never depend on how the sort happened to break ties.

Every row is sorted once.  Scores that are exactly representable as float32 (the usual case for
attributions) are packed with their label into one unsigned integer per base so that a plain
``np.sort`` (vectorised, no ``argsort`` + gather) sorts scores and labels together; other float64
scores take an ``argsort`` path that gives the same results.
"""

from __future__ import annotations

import numpy as np

_SIGN32 = np.uint32(0x80000000)


def float32_exact(scores: np.ndarray) -> np.ndarray | None:
    """``scores`` as float32 if that loses nothing (zeros made positive), else ``None``."""
    if scores.dtype == np.float32:
        as32 = scores
    elif scores.dtype == np.float16:
        as32 = scores.astype(np.float32)
    else:
        as32 = scores.astype(np.float32)
        if not np.array_equal(as32, scores):
            return None
    # -0.0 + 0.0 is +0.0: one bit pattern per value, so equal scores get equal keys.
    return as32 + np.float32(0.0)


def pack_keys(scores: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """Order keys with the label in the lowest bit, or ``None`` when float32 would round the scores.

    Non-negative scores (the default ``abs=True``) fit in ``uint32``: a non-negative float's bit
    pattern orders like its value.  Signed scores use the usual sign-flip trick in ``uint64``.
    """
    as32 = float32_exact(scores)
    if as32 is None:
        return None
    bits = as32.view(np.uint32)
    label_bit = labels.astype(np.uint32, copy=False)
    if not np.any(bits & _SIGN32):
        return (bits << np.uint32(1)) | label_bit
    sortable = np.where(bits & _SIGN32, ~bits, bits | _SIGN32)
    return (sortable.astype(np.uint64) << np.uint64(1)) | label_bit.astype(np.uint64)


def decode_keys(keys: np.ndarray) -> np.ndarray:
    """float64 scores back from :func:`pack_keys` order keys (label bit already shifted out)."""
    if keys.dtype == np.uint32:
        return keys.view(np.float32).astype(np.float64)
    sortable = keys.astype(np.uint32)
    bits = np.where(sortable & _SIGN32, sortable & ~_SIGN32, ~sortable)
    return bits.view(np.float32).astype(np.float64)


def sort_rows(scores: np.ndarray, labels: np.ndarray, keys: np.ndarray | None):
    """Sort every row ascending; returns ``(sorted_order_values, sorted_labels)``, both ``(R, M)``.

    The order values are the packed keys without their label bit (fast path) or the float64 scores.
    """
    if keys is not None:
        packed = np.sort(keys, axis=1)
        return packed >> packed.dtype.type(1), (packed & packed.dtype.type(1)).astype(bool)
    order = np.argsort(scores, axis=1, kind="stable")
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(labels, order, axis=1)


def row_rank_metrics(sorted_values: np.ndarray, sorted_labels: np.ndarray, top_k: int | None) -> dict:
    """Per-row auROC, auPRC and tie-aware top-k hit counts from row-sorted scores.

    Parameters
    ----------
    sorted_values : (R, M) array
        Each row ascending (any dtype whose ``==`` matches score equality).
    sorted_labels : (R, M) bool
        Labels in the same order.
    top_k : int or None
        The ``k`` of top-k precision (clipped to ``M``); ``None`` skips the top-k counts.

    Returns
    -------
    dict of (R,) arrays
        ``n_pos``; ``auroc`` and ``auprc`` (NaN where a row has no positive or no negative); unless
        ``top_k`` is None, ``rank_hits`` (expected positives among the top ``n_pos``),
        ``top_k_hits`` with its ``top_k``, and ``top_1_hits``.
    """
    n_rows, width = sorted_values.shape
    n = n_rows * width
    index = np.int32 if n < np.iinfo(np.int32).max else np.int64
    labels = sorted_labels.reshape(-1)
    cum = np.zeros(n + 1, dtype=index)
    np.cumsum(labels, out=cum[1:])
    row_start = np.arange(n_rows, dtype=np.int64) * width
    row_end = row_start + width
    n_pos = (cum[row_end] - cum[row_start]).astype(np.int64)
    n_neg = width - n_pos
    tie_bounds = _TieBounds(sorted_values, index)

    # Each positive's tie group [start, end): negatives strictly below count 1, tied ones 1/2;
    # its precision is the one at the end of its group in descending order.
    positive = np.flatnonzero(labels).astype(index, copy=False)
    row = positive // width
    start_of_row = row * width
    start, end = tie_bounds(positive)
    pos_below = cum[start] - cum[start_of_row]
    neg_below = (start - start_of_row) - pos_below
    neg_tied = (end - start) - (cum[end] - cum[start])
    mann_whitney = np.bincount(row, weights=neg_below + 0.5 * neg_tied, minlength=n_rows)
    precision = (n_pos[row] - pos_below) / (width - (start - start_of_row))
    precision_sum = np.bincount(row, weights=precision, minlength=n_rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        defined = (n_pos > 0) & (n_neg > 0)
        auroc = np.where(defined, mann_whitney / (n_pos * n_neg), np.nan)
        auprc = np.where(defined, precision_sum / n_pos, np.nan)
    result = {"n_pos": n_pos, "auroc": auroc, "auprc": auprc}
    if top_k is None:
        return result

    def top_hits(k: np.ndarray) -> np.ndarray:
        """Expected positives among the k highest, the tie group across the cut shared pro rata."""
        first = (row_end - k).astype(index)
        g0, g1 = tie_bounds(first)
        return (cum[row_end] - cum[g1]) + (g1 - first) * ((cum[g1] - cum[g0]) / (g1 - g0))

    k_top = np.full(n_rows, min(int(top_k), width), dtype=np.int64)
    result.update(
        rank_hits=top_hits(np.clip(n_pos, 1, width)),
        top_k_hits=top_hits(k_top),
        top_k=k_top,
        top_1_hits=top_hits(np.ones(n_rows, dtype=np.int64)),
    )
    return result


class _TieBounds:
    """``[start, end)`` of the tie group holding each given flat position of row-sorted values.

    Group boundaries are built only for the rows that contain a tie; elsewhere a position is its
    own group.  A single row (the pooled case) uses binary search instead.
    """

    def __init__(self, sorted_values: np.ndarray, index) -> None:
        self.values = sorted_values
        self.index = index
        n_rows, width = sorted_values.shape
        equal_next = sorted_values[:, 1:] == sorted_values[:, :-1]
        tie_rows = np.flatnonzero(equal_next.any(axis=1))
        self.has_ties = tie_rows.size > 0
        if not self.has_ties or n_rows == 1:
            return
        new_group = np.ones((len(tie_rows), width), dtype=bool)
        np.logical_not(equal_next[tie_rows], out=new_group[:, 1:])
        new_group = new_group.reshape(-1)
        self._bounds = np.append(np.flatnonzero(new_group), new_group.size).astype(index)
        self._group_of = (np.cumsum(new_group, dtype=index) - 1).astype(index, copy=False)
        self._tie_row_of = np.full(n_rows, -1, dtype=np.int64)
        self._tie_row_of[tie_rows] = np.arange(len(tie_rows))

    def __call__(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.has_ties:
            return flat, flat + 1
        n_rows, width = self.values.shape
        if n_rows == 1:
            row = self.values[0]
            probe = row[flat]
            return (np.searchsorted(row, probe, "left").astype(self.index),
                    np.searchsorted(row, probe, "right").astype(self.index))
        start, end = flat.copy(), flat + 1
        tie_row = self._tie_row_of[flat // width]
        tied = np.flatnonzero(tie_row >= 0)
        if tied.size:
            # Positions in the tie rows' own numbering, then back to the caller's.
            shift = (flat[tied] // width - tie_row[tied]) * width
            group = self._group_of[flat[tied] - shift]
            start[tied] = self._bounds[group] + shift
            end[tied] = self._bounds[group + 1] + shift
        return start, end


def table_metrics(n_pos: np.ndarray, n_neg: np.ndarray) -> tuple[float, float]:
    """auROC and auPRC from counts per distinct score (or per histogram bin), ascending."""
    total_pos, total_neg = int(n_pos.sum()), int(n_neg.sum())
    if total_pos == 0 or total_neg == 0:
        return float("nan"), float("nan")
    pos = n_pos.astype(np.float64)
    neg_below = (np.cumsum(n_neg) - n_neg).astype(np.float64)
    auroc = float(np.sum(pos * (neg_below + 0.5 * n_neg)) / (float(total_pos) * float(total_neg)))
    count = n_pos + n_neg
    above_or_equal = (total_pos + total_neg) - (np.cumsum(count) - count)
    pos_above_or_equal = total_pos - (np.cumsum(n_pos) - n_pos)
    auprc = float(np.sum(pos * (pos_above_or_equal / above_or_equal)) / total_pos)
    return auroc, auprc


def table_error_bounds(n_pos: np.ndarray, n_neg: np.ndarray, mixed: np.ndarray) -> tuple[float, float]:
    """Worst-case error of :func:`table_metrics` when ``mixed`` bins hold several distinct scores.

    auROC: a bin's positive-negative pairs are counted 1/2 but may really be ordered either way,
    so the error is at most ``0.5 * sum(pos * neg) / (P * N)`` over mixed bins.
    auPRC: each positive of a mixed bin with ``a`` positives and ``c`` scores above it, ``p``
    positives and ``n`` negatives inside, has its true precision in
    ``[(a + 1) / (c + n + 1), (a + p) / (c + p)]``, an interval that contains the binned value.
    """
    total_pos, total_neg = int(n_pos.sum()), int(n_neg.sum())
    if total_pos == 0 or total_neg == 0:
        return float("nan"), float("nan")
    pos = n_pos.astype(np.float64)
    neg = n_neg.astype(np.float64)
    use = mixed & (n_pos > 0)
    auroc_bound = 0.5 * float(np.sum(pos[use] * neg[use])) / (float(total_pos) * float(total_neg))
    count = n_pos + n_neg
    above = ((total_pos + total_neg) - np.cumsum(count)).astype(np.float64)
    pos_above = (total_pos - np.cumsum(n_pos)).astype(np.float64)
    p, n, a, c = pos[use], neg[use], pos_above[use], above[use]
    width = (a + p) / (c + p) - (a + 1) / (c + n + 1)
    return auroc_bound, float(np.sum(p * width) / total_pos)
