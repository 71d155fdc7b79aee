"""Score attributions against ground-truth motifs: the pure-numpy core of the metric.

:func:`score_attributions` scores everything in one call (the evaluate module's ``compute`` is a
thin wrapper around it); :class:`AttributionAccumulator` does the same batch by batch, for data that
do not fit in memory.  Both return the same dictionary of Python floats and ints.

Every per-sequence value is computed from its own row only, pooled metrics from integer counts or
one global sort, and means from the full vector of per-sequence values, so the output is
bit-identical whatever the batch size.
"""

from __future__ import annotations

import math

import numpy as np

from ._errors import MotifAttributionInputError
from ._inputs import Options, check_options, count_examples, prepare_batch, take_examples
from ._localisation import pointing_game, relevance_mass_accuracy
from ._motif_recall import instance_percentiles
from ._pooled import ExactPooled, HistogramPooled
from ._ranking import pack_keys, row_rank_metrics, sort_rows

POOLED_MODES = ("exact", "histogram")
_POSITIONS_PER_BATCH = 1 << 22
_PER_SEQUENCE = (
    "auroc", "auprc", "relevance_mass_accuracy", "relevance_rank_accuracy", "top_k_precision", "pointing_game",
)


class AttributionAccumulator:
    """Score attributions batch by batch (the incremental form of :func:`score_attributions`).

    Parameters
    ----------
    reference_format : {"mask", "intervals"}, default "mask"
        ``"mask"``: each reference is a 0/1 array of shape ``(L,)``; ``"intervals"``: a list of
        ``[start, end)`` motif intervals (0-based, half-open), which also enables motif recall.
    channel_reduce : {"sum", "observed", "max_abs"}, default "sum"
        How ``(4, L)`` / ``(L, 4)`` attributions become one score per base.
    abs : bool, default True
        Score ``|attribution|`` (after channel reduction and conv mapping).
    kernel_size : int, optional
        First-layer kernel width ``k`` of conv-layer attributions of length ``L - k + 1``.
    conv_mapping : {"receptive_field", "linear"}, default "receptive_field"
        How conv-layer attributions reach base resolution.
    top_k : int, default 10
        ``k`` of top-k precision (clipped to ``L``).
    pointing_tolerance : int, default 0
        A pointing-game hit may miss the motif by this many bases.
    recall_quantile : float, default 0.9
        Share of background windows an instance must beat to count as recovered.
    pooled : {"exact", "histogram"}, default "histogram"
        Pooled metrics exactly (memory grows with the data) or from a bounded histogram.
    histogram_bits : int, default 14
        Mantissa bits kept by the histogram (bin width ``2**-histogram_bits`` relative).

    Examples
    --------
    >>> from regsim.metrics import AttributionAccumulator
    >>> accumulator = AttributionAccumulator(pooled="exact")
    >>> batches = [
    ...     ([[0.1, 0.9, 0.8, 0.2]], [[0, 1, 1, 0]]),
    ...     ([[0.5, 0.4, 0.3, 0.2], [0.3, 0.1, 0.6, 0.9]], [[1, 0, 0, 0], [0, 0, 0, 1]]),
    ... ]
    >>> for predictions, references in batches:
    ...     accumulator.update(predictions, references)
    >>> result = accumulator.compute()
    >>> result["n_sequences"], result["auroc_mean"], round(result["auroc_pooled"], 4)
    (3, 1.0, 0.9688)
    """

    def __init__(
        self,
        *,
        reference_format: str = "mask",
        channel_reduce: str = "sum",
        abs: bool = True,
        kernel_size: int | None = None,
        conv_mapping: str = "receptive_field",
        top_k: int = 10,
        pointing_tolerance: int = 0,
        recall_quantile: float = 0.9,
        pooled: str = "histogram",
        histogram_bits: int = 14,
    ) -> None:
        self.options = Options(reference_format, channel_reduce, bool(abs), kernel_size, conv_mapping)
        check_options(self.options)
        _check_integer(top_k, "top_k", 1)
        _check_integer(pointing_tolerance, "pointing_tolerance", 0)
        if not 0.0 <= float(recall_quantile) <= 1.0:
            raise MotifAttributionInputError(f"recall_quantile must lie in [0, 1], got {recall_quantile!r}")
        if pooled not in POOLED_MODES:
            raise MotifAttributionInputError(f"pooled must be one of {POOLED_MODES}, got {pooled!r}")
        _check_integer(histogram_bits, "histogram_bits", 1, 23)
        self.top_k = int(top_k)
        self.pointing_tolerance = int(pointing_tolerance)
        self.recall_quantile = float(recall_quantile)
        self.pooled_mode = pooled
        self._pooled = ExactPooled() if pooled == "exact" else HistogramPooled(int(histogram_bits))
        self._per_sequence: dict[str, list[np.ndarray]] = {name: [] for name in _PER_SEQUENCE}
        self._instances: dict[str, list[np.ndarray]] = {"sequence": [], "start": [], "end": [], "percentile": []}
        self.n_examples = 0

    def update(self, predictions, references, *, sequences=None, sequence_length=None) -> None:
        """Add one batch; arguments as in :func:`score_attributions`. Indices in errors are global."""
        first = self.n_examples
        buckets = prepare_batch(
            predictions, references, self.options,
            sequences=sequences, sequence_length=sequence_length, first_index=first,
        )
        n = sum(len(b.index) for b in buckets)
        batch = {name: np.full(n, np.nan) for name in _PER_SEQUENCE}
        for bucket in buckets:
            local = bucket.index - first
            for name, values in self._score_bucket(bucket).items():
                batch[name][local] = values
            if bucket.instance_row is not None:
                percentile = instance_percentiles(
                    bucket.scores, bucket.mask, bucket.instance_row, bucket.instance_start, bucket.instance_end
                )
                self._instances["sequence"].append(bucket.index[bucket.instance_row])
                self._instances["start"].append(bucket.instance_start)
                self._instances["end"].append(bucket.instance_end)
                self._instances["percentile"].append(percentile)
        for name in _PER_SEQUENCE:
            self._per_sequence[name].append(batch[name])
        self.n_examples += n

    def _score_bucket(self, bucket) -> dict[str, np.ndarray]:
        scores, mask = bucket.scores, bucket.mask
        keys = pack_keys(scores, mask)
        sorted_values, sorted_labels = sort_rows(scores, mask, keys)
        ranks = row_rank_metrics(sorted_values, sorted_labels, self.top_k)
        del sorted_values, sorted_labels
        self._pooled.add(scores, mask, keys)
        n_pos = ranks["n_pos"]
        scored = (n_pos > 0) & (n_pos < scores.shape[1])
        if self.pointing_tolerance:
            pointing = pointing_game(scores, mask, self.pointing_tolerance)
        else:
            pointing = ranks["top_1_hits"]
        values = {
            "auroc": ranks["auroc"],
            "auprc": ranks["auprc"],
            "relevance_mass_accuracy": relevance_mass_accuracy(scores, mask),
            "relevance_rank_accuracy": ranks["rank_hits"] / np.maximum(n_pos, 1),
            "top_k_precision": ranks["top_k_hits"] / ranks["top_k"],
            "pointing_game": pointing,
        }
        return {name: np.where(scored, v, np.nan) for name, v in values.items()}

    def compute(self, *, return_per_sequence: bool = False) -> dict:
        """The metrics over everything added so far (see :func:`score_attributions` for the keys)."""
        per_sequence = {
            name: np.concatenate(parts) if parts else np.zeros(0) for name, parts in self._per_sequence.items()
        }
        scored = ~np.isnan(per_sequence["auroc"])
        n_scored = int(scored.sum())
        result = dict(self._pooled.result())
        for name in ("auroc", "auprc"):
            result[f"{name}_mean"], result[f"{name}_sem"] = _mean_sem(per_sequence[name][scored])
        for name in _PER_SEQUENCE[2:]:
            result[name], result[f"{name}_sem"] = _mean_sem(per_sequence[name][scored])
        result["n_sequences"] = int(self.n_examples)
        result["n_scored"] = n_scored
        result["n_skipped"] = int(self.n_examples - n_scored)
        if self.options.reference_format == "intervals":
            result.update(self._recall())
        result = {name: _python(value) for name, value in result.items()}
        if return_per_sequence:
            result["per_sequence"] = {name: [float(v) for v in values] for name, values in per_sequence.items()}
            if self.options.reference_format == "intervals":
                instances = self._instance_arrays()
                result["per_instance"] = {
                    "sequence": [int(v) for v in instances["sequence"]],
                    "start": [int(v) for v in instances["start"]],
                    "end": [int(v) for v in instances["end"]],
                    "percentile": [float(v) for v in instances["percentile"]],
                }
        return result

    def _instance_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            name: np.concatenate(parts) if parts else np.zeros(0, np.float64 if name == "percentile" else np.int64)
            for name, parts in self._instances.items()
        }
        order = np.lexsort((arrays["end"], arrays["start"], arrays["sequence"]))
        return {name: values[order] for name, values in arrays.items()}

    def _recall(self) -> dict:
        percentile = self._instance_arrays()["percentile"]
        scored = ~np.isnan(percentile)
        n_scored = int(scored.sum())
        recovered = int(np.count_nonzero(percentile[scored] >= self.recall_quantile))
        return {
            "motif_recall": recovered / n_scored if n_scored else float("nan"),
            "motif_percentile_mean": float(np.mean(percentile[scored])) if n_scored else float("nan"),
            "n_instances": int(percentile.size),
            "n_instances_skipped": int(percentile.size - n_scored),
        }


def score_attributions(
    predictions,
    references,
    *,
    reference_format: str = "mask",
    sequences=None,
    sequence_length=None,
    channel_reduce: str = "sum",
    abs: bool = True,
    kernel_size: int | None = None,
    conv_mapping: str = "receptive_field",
    top_k: int = 10,
    pointing_tolerance: int = 0,
    recall_quantile: float = 0.9,
    pooled: str = "exact",
    histogram_bits: int = 14,
    return_per_sequence: bool = False,
    batch_size: int | None = None,
    verbose: bool = False,
) -> dict:
    """Score per-base attributions against ground-truth motif positions.

    Parameters
    ----------
    predictions : array or list of arrays
        One attribution per sequence: ``(L,)``, ``(4, L)`` or ``(L, 4)`` (a 2-D array is read as
        ``(4, L)`` when its first axis is 4), or ``(L - k + 1,)`` at a conv layer with
        ``kernel_size=k``.  A ``(N, L)``, ``(N, 4, L)`` or ``(N, L, 4)`` array, a list (lengths may
        differ), torch tensors or pyarrow list columns.
    references : array or list
        ``reference_format="mask"``: per-base ground truth, 0/1 (or bool) of shape ``(L,)``.
        ``reference_format="intervals"``: per sequence a list of ``[start, end)`` motif intervals.
    reference_format : {"mask", "intervals"}, default "mask"
        The evaluate module's config name.
    sequences : list of str or one-hot arrays, optional
        Needed by ``channel_reduce="observed"``; in the intervals format it also gives ``L``.
    sequence_length : int or list of int, optional
        ``L`` for the intervals format when ``sequences`` is not given (otherwise ``L`` is the
        prediction length, plus ``kernel_size - 1`` when ``kernel_size`` is given).
    channel_reduce : {"sum", "observed", "max_abs"}, default "sum"
        Reduction of per-channel attributions: sum of the 4 channels (as the paper), the value at
        the observed base, or the signed value of the largest-magnitude channel.
    abs : bool, default True
        Score ``|attribution|`` (as the paper).  Applied after channel reduction and conv mapping.
    kernel_size : int, optional
        Kernel width ``k`` when predictions come from a conv layer (length ``L - k + 1``).
    conv_mapping : {"receptive_field", "linear"}, default "receptive_field"
        ``"receptive_field"``: each base gets the mean over all conv positions whose receptive
        field covers it (the paper's mapping, needs ``kernel_size``); ``"linear"``: linear
        interpolation (from receptive-field centres with ``kernel_size``, else any length, spread
        like ``torch.nn.functional.interpolate(mode="linear", align_corners=False)``).
    top_k : int, default 10
        ``k`` of top-k precision (clipped to ``L``).
    pointing_tolerance : int, default 0
        A pointing-game hit may miss the motif by this many bases.
    recall_quantile : float, default 0.9
        Intervals format: an instance is recovered when its mean score is at least this
        percentile of the sequence's motif-free windows of the same width.
    pooled : {"exact", "histogram"}, default "exact"
        Exact pooled metrics (one global sort; memory ~4-9 bytes per base) or a histogram with
        bounded memory whose worst-case error is reported in ``*_pooled_error_bound``.
    histogram_bits : int, default 14
        Mantissa bits of the histogram bins (relative bin width ``2**-histogram_bits``).
    return_per_sequence : bool, default False
        Add ``"per_sequence"`` (lists of per-sequence values, NaN where skipped) and, for
        intervals, ``"per_instance"``.
    batch_size : int, optional
        Sequences per internal batch (default: about 4 million bases per batch).  Affects memory
        and speed only, never the result.
    verbose : bool, default False
        Show a progress bar.

    Returns
    -------
    dict
        Python floats and ints.  ``auroc_pooled``, ``auprc_pooled`` (all bases of all sequences
        together) with ``auroc_pooled_error_bound``, ``auprc_pooled_error_bound`` (0 when exact);
        ``auroc_mean``, ``auroc_sem``, ``auprc_mean``, ``auprc_sem`` and the localisation metrics
        ``relevance_mass_accuracy``, ``relevance_rank_accuracy``, ``top_k_precision``,
        ``pointing_game`` (each with ``_sem``), averaged over the ``n_scored`` sequences that have
        both motif and background bases; ``n_sequences``, ``n_scored``, ``n_skipped``.  Intervals
        format: ``motif_recall``, ``motif_percentile_mean``, ``n_instances``,
        ``n_instances_skipped``.  Undefined values are NaN.

    Examples
    --------
    >>> from regsim.metrics import score_attributions
    >>> result = score_attributions(
    ...     predictions=[[0.1, 0.9, 0.8, 0.2, 0.0], [0.3, 0.3, 0.3, 0.3, 0.3]],
    ...     references=[[0, 1, 1, 0, 0], [0, 0, 1, 1, 0]],
    ... )
    >>> result["auroc_mean"], result["n_scored"]
    (0.75, 2)
    >>> result["auroc_pooled"], result["pointing_game"]
    (0.875, 0.7)
    """
    n = count_examples(predictions, "predictions")
    n_references = count_examples(references, "references")
    if n_references != n:
        raise MotifAttributionInputError(
            f"got {n} predictions but {n_references} references; they must pair up one to one"
        )
    if n == 0:
        raise MotifAttributionInputError("no examples to score: predictions and references are empty")
    if sequences is not None and count_examples(sequences, "sequences") != n:
        raise MotifAttributionInputError(
            f"got {n} predictions but {count_examples(sequences, 'sequences')} sequences; they must pair up one to one"
        )
    per_example_length = sequence_length is not None and np.ndim(sequence_length) > 0
    if batch_size is None:
        batch_size = max(1, _POSITIONS_PER_BATCH // max(1, _typical_length(predictions)))
    else:
        _check_integer(batch_size, "batch_size", 1)
    accumulator = AttributionAccumulator(
        reference_format=reference_format, channel_reduce=channel_reduce, abs=abs, kernel_size=kernel_size,
        conv_mapping=conv_mapping, top_k=top_k, pointing_tolerance=pointing_tolerance,
        recall_quantile=recall_quantile, pooled=pooled, histogram_bits=histogram_bits,
    )
    starts = range(0, n, batch_size)
    if verbose:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="scoring attributions", unit="batch")
    for start in starts:
        stop = min(start + batch_size, n)
        accumulator.update(
            take_examples(predictions, start, stop),
            take_examples(references, start, stop),
            sequences=take_examples(sequences, start, stop),
            sequence_length=take_examples(sequence_length, start, stop) if per_example_length else sequence_length,
        )
    return accumulator.compute(return_per_sequence=return_per_sequence)


def _typical_length(predictions) -> int:
    shape = getattr(predictions, "shape", None)
    if shape is not None and not isinstance(predictions, (list, tuple)) and len(shape) >= 2:
        return int(max(shape[1:]))
    try:
        first = predictions[0]
    except (IndexError, KeyError, TypeError):
        return 1
    if hasattr(first, "as_py"):  # a pyarrow scalar
        first = first.as_py()
    return int(max(np.shape(first) or (1,)))


def _check_integer(value, name: str, low: int, high: int | None = None) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low
            or (high is not None and value > high)):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise MotifAttributionInputError(f"{name} must be {allowed}, got {value!r}")


def _mean_sem(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return float("nan"), float("nan")
    mean = float(np.mean(values))
    if values.size < 2:
        return mean, float("nan")
    return mean, float(np.std(values, ddof=1) / math.sqrt(values.size))


def _python(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)
