"""Pooled auROC / auPRC over every base of every sequence, exactly or from a histogram.

``ExactPooled`` keeps one sorted run of order keys per batch (4 bytes per base for non-negative
float32 scores, 8 for signed ones, 9 for float64 scores that float32 would round) and merges them
once at the end: exact, with memory proportional to the input.

``HistogramPooled`` keeps counts of positives and negatives per score bin, so memory is fixed by the
bin count, whatever the number of sequences.  Bins are the float32 value with the mantissa cut to
``mantissa_bits`` bits: a bin spans a relative width of ``2**-mantissa_bits`` of its value, on every
scale, and bins are monotone in the score, so the metrics are those of the scores rounded down to
their bin.  A bin whose smallest and largest score differ is "mixed"; only mixed bins can make
the result differ from the exact one, and ``table_error_bounds`` turns them into worst-case error
bounds that are reported with the result.  Counts are integers, so the result does not depend on
how the data were split into batches.  Storage is allocated per (sign, exponent) block of
``2**mantissa_bits`` bins, only for blocks that occur: 32 bytes x ``2**mantissa_bits`` per power of
two the scores span (512 KiB per octave at the default 14 bits).
"""

from __future__ import annotations

import numpy as np

from ._ranking import decode_keys, row_rank_metrics, table_error_bounds, table_metrics


class ExactPooled:
    """Exact pooled metrics from sorted runs, merged once."""

    def __init__(self) -> None:
        self._runs: list[tuple] = []

    def add(self, scores: np.ndarray, labels: np.ndarray, keys: np.ndarray | None) -> None:
        if keys is not None:
            self._runs.append(("keys", np.sort(keys.reshape(-1))))
            return
        values = scores.reshape(-1).astype(np.float64)
        order = np.argsort(values, kind="stable")
        self._runs.append(("values", values[order], labels.reshape(-1)[order]))

    def result(self) -> dict:
        if not self._runs:
            return _pooled_output(float("nan"), float("nan"), 0.0, 0.0)
        values, labels = self._merged()
        if values.size == 0:
            return _pooled_output(float("nan"), float("nan"), 0.0, 0.0)
        metrics = row_rank_metrics(values[None, :], labels[None, :], top_k=None)
        return _pooled_output(float(metrics["auroc"][0]), float(metrics["auprc"][0]), 0.0, 0.0)

    def _merged(self) -> tuple[np.ndarray, np.ndarray]:
        kinds = {run[0] for run in self._runs}
        if kinds == {"keys"}:
            runs = [run[1] for run in self._runs]
            if len({run.dtype for run in runs}) > 1:
                # A non-negative uint32 key p reads (bits << 1 | label); the signed uint64 form of the
                # same score is ((bits | 2**31) << 1 | label) = p + 2**32.
                runs = [r.astype(np.uint64) + np.uint64(1 << 32) if r.dtype == np.uint32 else r for r in runs]
            keys = runs[0] if len(runs) == 1 else np.sort(np.concatenate(runs), kind="stable")
            one = keys.dtype.type(1)
            return keys >> one, (keys & one).astype(bool)
        values, labels = [], []
        for run in self._runs:
            if run[0] == "keys":
                one = run[1].dtype.type(1)
                values.append(decode_keys(run[1] >> one))
                labels.append((run[1] & one).astype(bool))
            else:
                values.append(run[1])
                labels.append(run[2])
        values, labels = np.concatenate(values), np.concatenate(labels)
        order = np.argsort(values, kind="stable")
        return values[order], labels[order]


class HistogramPooled:
    """Pooled metrics from per-bin counts; memory independent of the number of sequences."""

    def __init__(self, mantissa_bits: int = 14) -> None:
        if not 1 <= mantissa_bits <= 23:
            raise ValueError(f"histogram_bits must be between 1 and 23, got {mantissa_bits}")
        self.mantissa_bits = mantissa_bits
        self._shift = np.uint32(23 - mantissa_bits)
        self._width = 1 << mantissa_bits
        self._slot_of_block = np.full(512, -1, dtype=np.int64)  # block = 256 * negative + exponent
        self._blocks: list[int] = []
        shape = (0, self._width)
        self._n_pos = np.zeros(shape, dtype=np.int64)
        self._n_neg = np.zeros(shape, dtype=np.int64)
        self._min = np.zeros(shape, dtype=np.float64)  # smallest and largest score seen in each bin
        self._max = np.zeros(shape, dtype=np.float64)

    def add(self, scores: np.ndarray, labels: np.ndarray, keys=None) -> None:
        values = scores.reshape(-1)
        labels = labels.reshape(-1)
        single = values if values.dtype == np.float32 else values.astype(np.float32)
        negative = single < 0  # -0.0 joins +0.0
        if negative.any():
            self._add_half(values[~negative], labels[~negative], single[~negative], 0)
            self._add_half(values[negative], labels[negative], single[negative], 256)
        elif values.size:
            self._add_half(values, labels, single, 0)

    def _add_half(self, values, labels, single, block_offset: int) -> None:
        """Count one sign's scores; bins are (exponent, top mantissa bits) of |float32 score|."""
        if values.size == 0:
            return
        bins = (single.view(np.uint32) & np.uint32(0x7FFFFFFF)) >> self._shift
        first_block = int(bins.min()) >> self.mantissa_bits
        n_blocks = (int(bins.max()) >> self.mantissa_bits) - first_block + 1
        cell = (bins - np.uint32(first_block << self.mantissa_bits)).astype(np.intp)
        size = n_blocks * self._width
        total = np.bincount(cell, minlength=size).reshape(n_blocks, self._width)
        positives = np.bincount(cell[labels], minlength=size).reshape(n_blocks, self._width)
        # ufunc.at is fast only when the array and the values share a dtype.
        low = np.full(size, np.inf, dtype=values.dtype)
        high = np.full(size, -np.inf, dtype=values.dtype)
        np.minimum.at(low, cell, values)
        np.maximum.at(high, cell, values)
        used = np.flatnonzero(total.any(axis=1))
        blocks = used + first_block + block_offset
        self._allocate(blocks[self._slot_of_block[blocks] < 0])
        slots = self._slot_of_block[blocks]
        self._n_pos[slots] += positives[used]
        self._n_neg[slots] += total[used] - positives[used]
        self._min[slots] = np.minimum(self._min[slots], low.reshape(n_blocks, -1)[used])
        self._max[slots] = np.maximum(self._max[slots], high.reshape(n_blocks, -1)[used])

    def _allocate(self, blocks: np.ndarray) -> None:
        if blocks.size == 0:
            return
        grow = len(blocks)
        self._slot_of_block[blocks] = np.arange(len(self._blocks), len(self._blocks) + grow)
        self._blocks.extend(int(b) for b in blocks)
        extra = (grow, self._width)
        self._n_pos = np.vstack([self._n_pos, np.zeros(extra, np.int64)])
        self._n_neg = np.vstack([self._n_neg, np.zeros(extra, np.int64)])
        self._min = np.vstack([self._min, np.full(extra, np.inf)])
        self._max = np.vstack([self._max, np.full(extra, -np.inf)])

    @property
    def nbytes(self) -> int:
        """Memory held by the histogram."""
        return self._n_pos.nbytes + self._n_neg.nbytes + self._min.nbytes + self._max.nbytes

    def table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(n_pos, n_neg, mixed)`` per non-empty bin, in ascending score order."""
        blocks = np.asarray(self._blocks, dtype=np.int64)
        negative = blocks >= 256
        exponent = blocks % 256
        # Negative scores first, largest magnitude first (bins reversed); then positives ascending.
        order = np.concatenate(
            [np.flatnonzero(negative)[np.argsort(-exponent[negative], kind="stable")],
             np.flatnonzero(~negative)[np.argsort(exponent[~negative], kind="stable")]]
        )
        mixed = self._min < self._max
        parts = []
        for array in (self._n_pos, self._n_neg, mixed):
            rows = [array[s, ::-1] if negative[s] else array[s] for s in order]
            parts.append(np.concatenate(rows) if rows else array.reshape(-1))
        n_pos, n_neg, mixed = parts
        used = (n_pos + n_neg) > 0
        return n_pos[used], n_neg[used], mixed[used]

    def result(self) -> dict:
        n_pos, n_neg, mixed = self.table()
        auroc, auprc = table_metrics(n_pos, n_neg)
        auroc_bound, auprc_bound = table_error_bounds(n_pos, n_neg, mixed)
        return _pooled_output(auroc, auprc, auroc_bound, auprc_bound)


def _pooled_output(auroc: float, auprc: float, auroc_bound: float, auprc_bound: float) -> dict:
    return {
        "auroc_pooled": auroc,
        "auprc_pooled": auprc,
        "auroc_pooled_error_bound": auroc_bound,
        "auprc_pooled_error_bound": auprc_bound,
    }
