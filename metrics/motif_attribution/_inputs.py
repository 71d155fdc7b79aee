"""Checking and shaping the metric's inputs: one score row and one 0/1 mask per example.

Accepted containers: a numpy array with a leading example axis, a list or tuple of per-example
arrays (lengths may differ), torch tensors (moved to the CPU), and the pyarrow columns that
``evaluate`` hands to ``_compute``.  Examples are grouped by shape and processed as ``(rows, L)``
arrays ("buckets"), so nothing below works one example at a time except interval parsing.

Every problem raises :class:`MotifAttributionInputError` naming the example index (counted from
``first_index``, so indices stay global across batches of an accumulator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base_resolution import (
    CHANNEL_REDUCTIONS,
    CONV_MAPPINGS,
    linear_upsample,
    one_hot_strings,
    receptive_field_average,
    reduce_channels,
)
from ._errors import MotifAttributionInputError

REFERENCE_FORMATS = ("mask", "intervals")


@dataclass
class Bucket:
    """Examples of one sequence length ``L``, ready for the kernels."""

    index: np.ndarray  # (R,) global example indices
    scores: np.ndarray  # (R, L) float32 or float64 per-base scores (after abs)
    mask: np.ndarray  # (R, L) bool ground truth
    instance_row: np.ndarray | None = None  # interval references: row of each instance in this bucket
    instance_start: np.ndarray | None = None
    instance_end: np.ndarray | None = None


@dataclass(frozen=True)
class Options:
    """The scoring options that shape inputs (checked once by :func:`check_options`)."""

    reference_format: str = "mask"
    channel_reduce: str = "sum"
    use_abs: bool = True
    kernel_size: int | None = None
    conv_mapping: str = "receptive_field"


def check_options(options: Options) -> None:
    if options.reference_format not in REFERENCE_FORMATS:
        raise MotifAttributionInputError(
            f"reference_format must be one of {REFERENCE_FORMATS}, got {options.reference_format!r}"
        )
    if options.channel_reduce not in CHANNEL_REDUCTIONS:
        raise MotifAttributionInputError(
            f"channel_reduce must be one of {CHANNEL_REDUCTIONS}, got {options.channel_reduce!r}"
        )
    if options.conv_mapping not in CONV_MAPPINGS:
        raise MotifAttributionInputError(
            f"conv_mapping must be one of {CONV_MAPPINGS}, got {options.conv_mapping!r}"
        )
    k = options.kernel_size
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
        raise MotifAttributionInputError(f"kernel_size must be a positive integer, got {k!r}")


def count_examples(obj, name: str) -> int:
    """Number of examples in an input container (without converting it)."""
    if obj is None:
        raise MotifAttributionInputError(f"{name} is missing")
    if hasattr(obj, "shape") and not isinstance(obj, (list, tuple)):
        if len(obj.shape) == 0:
            raise MotifAttributionInputError(f"{name} must hold one entry per example, got a scalar")
        return int(obj.shape[0])
    try:
        return len(obj)
    except TypeError:
        raise MotifAttributionInputError(
            f"{name} must be an array or a list with one entry per example, got {type(obj).__name__}"
        ) from None


def check_nesting(obj, name: str, *, allow_empty_examples: bool = False) -> None:
    """Before ``evaluate`` stores a batch: every example is a non-empty, rectangular numeric array.

    Raises
    ------
    MotifAttributionInputError
        No examples at all; an example that is empty (unless ``allow_empty_examples``, for interval
        lists) or ragged, naming its index within the batch.
    """
    if obj is None or hasattr(obj, "type"):  # missing (evaluate says so) or Arrow data (already typed)
        return
    if count_examples(obj, name) == 0:
        raise MotifAttributionInputError(f"no examples: {name} is empty")
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        if obj.size == 0 and not allow_empty_examples:
            raise MotifAttributionInputError(f"example 0: {name} are empty (shape {obj.shape[1:]})")
        return
    for i, item in enumerate(obj):
        try:
            array = np.asarray(_to_numpy(item), dtype=np.float64)
        except (ValueError, TypeError):
            raise MotifAttributionInputError(
                f"example {i}: {name} is ragged or not numeric (inner lists must have equal lengths)"
            ) from None
        if array.size == 0 and not allow_empty_examples:
            raise MotifAttributionInputError(f"example {i}: {name} are empty (shape {array.shape})")


def take_examples(obj, start: int, stop: int):
    """Examples ``start:stop`` of an input container, without copying arrays."""
    if obj is None or isinstance(obj, (int, np.integer)):
        return obj
    if hasattr(obj, "slice") and hasattr(obj, "type"):  # pyarrow arrays: zero-copy slice
        return obj.slice(start, stop - start)
    return obj[start:stop]


def prepare_batch(
    predictions,
    references,
    options: Options,
    *,
    sequences=None,
    sequence_length=None,
    first_index: int = 0,
) -> list[Bucket]:
    """Validate one batch and turn it into buckets of equal-length examples."""
    predictions = _as_examples(predictions, "predictions", first_index)
    n = len(predictions)
    empty = [i for i in range(n) if np.size(predictions[i]) == 0] if not isinstance(predictions, np.ndarray) else (
        [0] if predictions.size == 0 and n else [])
    if empty:
        raise MotifAttributionInputError(f"example {first_index + empty[0]}: predictions are empty")
    intervals = options.reference_format == "intervals"
    references = _as_examples(references, "references", first_index, keep_lists=intervals)
    if len(references) != n:
        raise MotifAttributionInputError(
            f"got {n} predictions but {len(references)} references (examples {first_index}.."
            f"{first_index + max(n, len(references)) - 1}); they must pair up one to one"
        )
    if sequences is not None:
        sequences = _as_sequences(sequences, first_index)
        if len(sequences) != n:
            raise MotifAttributionInputError(f"got {n} predictions but {len(sequences)} sequences")
    if n == 0:
        return []
    lengths = _sequence_lengths(predictions, references, sequences, sequence_length, options, first_index)

    groups: dict[tuple, list[int]] = {}
    if isinstance(predictions, np.ndarray) and len(set(lengths.tolist())) <= 1:
        groups[(predictions.shape[1:], int(lengths[0]))] = list(range(n))
    else:
        for i in range(n):
            groups.setdefault((np.shape(predictions[i]), int(lengths[i])), []).append(i)

    by_length: dict[int, list[Bucket]] = {}
    for (shape, length), rows in groups.items():
        rows = np.asarray(rows, dtype=np.int64)
        scores = _scores(predictions, rows, shape, length, sequences, options, first_index)
        if intervals:
            bucket = _interval_bucket(references, rows, length, first_index)
        else:
            bucket = Bucket(rows, None, _mask(references, rows, length, first_index))
        bucket.index = rows + first_index
        bucket.scores = scores
        by_length.setdefault(length, []).append(bucket)
    return [_concatenate(parts) for _, parts in sorted(by_length.items())]


# ---------------------------------------------------------------------------------------------
# containers


def _as_examples(obj, name: str, first_index: int, keep_lists: bool = False):
    """A numeric array with a leading example axis, or a list of per-example arrays."""
    if obj is None:
        raise MotifAttributionInputError(f"{name} is missing")
    if hasattr(obj, "type") and (hasattr(obj, "combine_chunks") or hasattr(obj, "offsets")):
        return _arrow_examples(obj, name, first_index)
    obj = _to_numpy(obj)
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        if obj.ndim == 0:
            raise MotifAttributionInputError(f"{name} must hold one entry per example, got a scalar")
        return obj
    if not isinstance(obj, (list, tuple, np.ndarray)):
        raise MotifAttributionInputError(
            f"{name} must be an array or a list with one entry per example, got {type(obj).__name__}"
        )
    if keep_lists:
        return list(obj)
    examples = []
    for i, item in enumerate(obj):
        array = _to_numpy(item)
        if not isinstance(array, np.ndarray):
            try:
                array = np.asarray(array)
            except ValueError:  # numpy refuses ragged nesting
                raise MotifAttributionInputError(
                    f"example {first_index + i}: {name} is ragged (inner lists of different lengths)"
                ) from None
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.number) or array.dtype == bool
        ):
            raise MotifAttributionInputError(
                f"example {first_index + i}: {name} must be numeric, got {_describe(item)}"
            )
        examples.append(array)
    return examples


def _to_numpy(obj):
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor, without importing torch
        return obj.detach().cpu().numpy()
    return obj


def _describe(item) -> str:
    text = repr(item)
    return text if len(text) <= 60 else text[:57] + "..."


def _arrow_examples(column, name: str, first_index: int):
    """Per-example numpy views of a pyarrow list column (what ``evaluate`` passes)."""
    array = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    n = len(array)
    if array.null_count:
        first = int(np.flatnonzero(np.asarray(array.is_null()))[0])
        raise MotifAttributionInputError(f"example {first_index + first}: {name} is missing (null)")
    outer = np.asarray(array.offsets, dtype=np.int64)
    child = array.values
    if not hasattr(child, "offsets"):
        leaf = child.to_numpy(zero_copy_only=False)
        sizes = np.diff(outer)
        if n and np.all(sizes == sizes[0]):
            return leaf[outer[0] : outer[-1]].reshape(n, int(sizes[0]))
        return [leaf[outer[i] : outer[i + 1]] for i in range(n)]
    inner = np.asarray(child.offsets, dtype=np.int64)
    leaf = child.values.to_numpy(zero_copy_only=False)
    row_sizes = np.diff(inner)
    rows_per_example = np.diff(outer)
    first_row = outer[:-1]
    if n and np.all(rows_per_example == rows_per_example[0]):
        used = row_sizes[outer[0] : outer[-1]]
        if used.size and np.all(used == used[0]):
            a, b = int(rows_per_example[0]), int(used[0])
            return leaf[inner[outer[0]] : inner[outer[-1]]].reshape(n, a, b)
    examples = []
    for i in range(n):
        sizes = row_sizes[first_row[i] : outer[i + 1]]
        if sizes.size and np.any(sizes != sizes[0]):
            raise MotifAttributionInputError(
                f"example {first_index + i}: {name} rows have different lengths {sorted(set(sizes.tolist()))}"
            )
        width = int(sizes[0]) if sizes.size else 0
        start, stop = inner[first_row[i]], inner[outer[i + 1]]
        examples.append(leaf[start:stop].reshape(len(sizes), width))
    return examples


def _as_sequences(sequences, first_index: int):
    """Strings stay a list; one-hot input becomes arrays (checked per example later)."""
    if isinstance(sequences, str):
        raise MotifAttributionInputError("sequences must hold one sequence per example, got a single string")
    if hasattr(sequences, "type") and hasattr(sequences, "to_pylist"):  # pyarrow strings
        sequences = sequences.to_pylist()
    if isinstance(sequences, (list, tuple)) and sequences and all(isinstance(s, str) for s in sequences):
        return list(sequences)
    return _as_examples(sequences, "sequences", first_index)


# ---------------------------------------------------------------------------------------------
# lengths and scores


def _prediction_length(shape: tuple, index: int) -> tuple[int, str]:
    """Length along the sequence axis and the layout: "1d", "channels_first" or "channels_last"."""
    if 0 in shape:
        raise MotifAttributionInputError(f"example {index}: predictions are empty (shape {tuple(shape)})")
    if len(shape) == 1:
        return shape[0], "1d"
    if len(shape) == 2:
        if shape[0] == 4:
            return shape[1], "channels_first"
        if shape[1] == 4:
            return shape[0], "channels_last"
    raise MotifAttributionInputError(
        f"example {index}: predictions have shape {tuple(shape)}; expected (L,), (4, L) or (L, 4)"
    )


def _sequence_lengths(predictions, references, sequences, sequence_length, options, first_index) -> np.ndarray:
    """The base-resolution length ``L`` of every example."""
    n = len(predictions)
    if options.reference_format == "mask":
        if isinstance(references, np.ndarray):
            if references.ndim != 2:
                raise MotifAttributionInputError(
                    f"references must be 0/1 masks of shape (L,) per example; got an array of shape {references.shape}"
                )
            if references.shape[1] == 0:
                raise MotifAttributionInputError(f"example {first_index}: references are empty (L = 0)")
            lengths = np.full(n, references.shape[1], dtype=np.int64)
        else:
            lengths = np.empty(n, dtype=np.int64)
            for i, mask in enumerate(references):
                if np.ndim(mask) != 1:
                    raise MotifAttributionInputError(
                        f"example {first_index + i}: references must be a 0/1 mask of shape (L,), "
                        f"got shape {np.shape(mask)}"
                    )
                lengths[i] = len(mask)
                if lengths[i] == 0:
                    raise MotifAttributionInputError(f"example {first_index + i}: references are empty (L = 0)")
    elif sequences is not None:
        lengths = _lengths_of_sequences(sequences, n, first_index)
    elif sequence_length is not None:
        lengths = _given_lengths(sequence_length, n, first_index)
    else:
        lengths = np.empty(n, dtype=np.int64)
        k = options.kernel_size
        for i in range(n):
            length, _ = _prediction_length(np.shape(predictions[i]), first_index + i)
            if k is not None:
                length += k - 1
            elif options.conv_mapping == "linear":
                raise MotifAttributionInputError(
                    f"example {first_index + i}: with interval references and conv_mapping='linear' the "
                    "sequence length is unknown; pass sequences or sequence_length"
                )
            lengths[i] = length
    if sequences is not None and options.reference_format == "mask":
        seq_lengths = _lengths_of_sequences(sequences, n, first_index)
        bad = np.flatnonzero(seq_lengths != lengths)
        if bad.size:
            i = int(bad[0])
            raise MotifAttributionInputError(
                f"example {first_index + i}: sequence has length {seq_lengths[i]} "
                f"but references have length {lengths[i]}"
            )
    return lengths


def _lengths_of_sequences(sequences, n: int, first_index: int) -> np.ndarray:
    if isinstance(sequences, list) and sequences and isinstance(sequences[0], str):
        return np.array([len(s) for s in sequences], dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    for i in range(n):
        shape = np.shape(sequences[i])
        if len(shape) != 2 or 4 not in shape:
            raise MotifAttributionInputError(
                f"example {first_index + i}: sequences must be strings or one-hot (4, L) / (L, 4); got shape {shape}"
            )
        lengths[i] = shape[1] if shape[0] == 4 else shape[0]
    return lengths


def _given_lengths(sequence_length, n: int, first_index: int) -> np.ndarray:
    lengths = np.asarray(sequence_length)
    if lengths.ndim == 0:
        lengths = np.broadcast_to(lengths, (n,))
    if lengths.shape != (n,):
        raise MotifAttributionInputError(
            f"sequence_length must be one integer or one per example ({n}), got shape {lengths.shape}"
        )
    if not np.issubdtype(lengths.dtype, np.integer) or np.any(lengths < 1):
        bad = 0 if not np.issubdtype(lengths.dtype, np.integer) else int(np.flatnonzero(lengths < 1)[0])
        raise MotifAttributionInputError(f"example {first_index + bad}: sequence_length must be a positive integer")
    return lengths.astype(np.int64)


def _stack(examples, rows: np.ndarray) -> np.ndarray:
    if isinstance(examples, np.ndarray):
        return examples if rows.size == len(examples) and rows[-1] == rows.size - 1 else examples[rows]
    return np.stack([examples[i] for i in rows])


def _scores(predictions, rows, shape, length, sequences, options: Options, first_index) -> np.ndarray:
    """``(len(rows), length)`` per-base scores: reduce channels, map to bases, abs."""
    pred_length, layout = _prediction_length(shape, first_index + int(rows[0]))
    values = _canonical_float(_stack(predictions, rows))
    finite = np.isfinite(values.reshape(len(rows), -1)).all(axis=1)
    if not finite.all():
        i = int(rows[np.argmin(finite)])
        raise MotifAttributionInputError(f"example {first_index + i}: predictions contain NaN or infinite values")
    if layout == "channels_last":
        values = values.transpose(0, 2, 1)
    if layout != "1d":
        one_hot = None
        if options.channel_reduce == "observed":
            one_hot = _one_hot(sequences, rows, pred_length, length, first_index)
        values = reduce_channels(values, options.channel_reduce, one_hot)
    if pred_length != length:
        values = _to_bases(values, length, options, first_index + int(rows[0]))
    if options.use_abs:
        values = np.abs(values)
    return np.ascontiguousarray(values)


def _canonical_float(values: np.ndarray) -> np.ndarray:
    """float32 when that is exact, else float64.

    Attributions are float32 almost always, and ``evaluate`` hands them back as float64; treating
    float32-exact input as float32 makes both routes compute bit-identical scores.
    """
    if values.dtype == np.float32:
        return values
    if values.dtype == np.float64:
        single = values.astype(np.float32)
        return single if np.array_equal(single, values, equal_nan=True) else values
    if values.dtype == bool or np.issubdtype(values.dtype, np.integer) or values.dtype == np.float16:
        return _canonical_float(values.astype(np.float64))
    return values.astype(np.float64)


def _to_bases(values: np.ndarray, length: int, options: Options, index: int) -> np.ndarray:
    pred_length = values.shape[1]
    k = options.kernel_size
    if k is not None:
        if pred_length != length - k + 1:
            raise MotifAttributionInputError(
                f"example {index}: predictions have length {pred_length} but references have length "
                f"{length}; with kernel_size={k} expected {length} (per base) or {length - k + 1} (conv layer)"
            )
        if options.conv_mapping == "receptive_field":
            return receptive_field_average(values, k)
        return linear_upsample(values, length, kernel_size=k)
    if options.conv_mapping == "linear" and pred_length >= 1:
        return linear_upsample(values, length)
    raise MotifAttributionInputError(
        f"example {index}: predictions have length {pred_length} but references have length {length} "
        "(for conv-layer attributions pass kernel_size, or conv_mapping='linear')"
    )


def _one_hot(sequences, rows, pred_length: int, length: int, first_index: int) -> np.ndarray:
    index = first_index + int(rows[0])
    if sequences is None:
        raise MotifAttributionInputError(
            f"example {index}: channel_reduce='observed' needs sequences (strings or one-hot) to know the observed base"
        )
    if pred_length != length:
        raise MotifAttributionInputError(
            f"example {index}: channel_reduce='observed' needs per-base attributions of length {length}, "
            f"got {pred_length}"
        )
    if isinstance(sequences, list) and sequences and isinstance(sequences[0], str):
        return one_hot_strings([sequences[i] for i in rows])
    one_hot = []
    for i in rows:
        array = np.asarray(sequences[i], dtype=np.float32)
        if array.shape[0] != 4:
            array = array.T
        if not np.isfinite(array).all():
            raise MotifAttributionInputError(
                f"example {first_index + int(i)}: sequences contain NaN or infinite values"
            )
        one_hot.append(array)
    return np.stack(one_hot)


# ---------------------------------------------------------------------------------------------
# references


def _mask(references, rows, length: int, first_index: int) -> np.ndarray:
    mask = _stack(references, rows)
    if mask.dtype == bool:
        return np.ascontiguousarray(mask)
    binary = ((mask == 0) | (mask == 1)).all(axis=1)
    if not binary.all():
        j = int(np.argmin(binary))
        bad = mask[j][(mask[j] != 0) & (mask[j] != 1)][0].item()
        raise MotifAttributionInputError(
            f"example {first_index + int(rows[j])}: references must be a 0/1 mask, found the value {bad!r}"
        )
    return mask == 1


def _interval_bucket(references, rows, length: int, first_index: int) -> Bucket:
    starts, ends, owner = [], [], []
    for r, i in enumerate(rows):
        pairs = _intervals(references[i], first_index + int(i), length)
        starts.append(pairs[:, 0])
        ends.append(pairs[:, 1])
        owner.append(np.full(len(pairs), r, dtype=np.int64))
    start = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    end = np.concatenate(ends) if ends else np.zeros(0, np.int64)
    row = np.concatenate(owner) if owner else np.zeros(0, np.int64)
    # Coverage counts via +1 at each start and -1 at each end; a base is motif if covered at all.
    stride = length + 1
    size = len(rows) * stride
    delta = np.bincount(row * stride + start, minlength=size) - np.bincount(row * stride + end, minlength=size)
    mask = np.cumsum(delta.reshape(len(rows), stride), axis=1)[:, :length] > 0
    return Bucket(rows, None, mask, row, start, end)


def _intervals(item, index: int, length: int) -> np.ndarray:
    pairs = np.asarray(_to_numpy(item))
    if pairs.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise MotifAttributionInputError(
            f"example {index}: references must be a list of [start, end) pairs, got shape {pairs.shape}"
        )
    if not np.issubdtype(pairs.dtype, np.integer):
        integral = np.issubdtype(pairs.dtype, np.floating) and np.all(np.isfinite(pairs))
        if not integral or np.any(pairs != np.round(pairs)):
            raise MotifAttributionInputError(
                f"example {index}: interval bounds must be integers, got {_describe(item)}"
            )
    pairs = pairs.astype(np.int64)
    outside = (pairs[:, 0] < 0) | (pairs[:, 1] > length)
    if outside.any():
        j = int(np.argmax(outside))
        raise MotifAttributionInputError(
            f"example {index}: interval {j} [{pairs[j, 0]}, {pairs[j, 1]}) lies outside the sequence [0, {length})"
        )
    empty = pairs[:, 0] >= pairs[:, 1]
    if empty.any():
        j = int(np.argmax(empty))
        raise MotifAttributionInputError(
            f"example {index}: interval {j} [{pairs[j, 0]}, {pairs[j, 1]}) is empty; start must be smaller than end"
        )
    return pairs


def _concatenate(parts: list[Bucket]) -> Bucket:
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [len(p.index) for p in parts[:-1]])
    has_instances = parts[0].instance_row is not None
    return Bucket(
        index=np.concatenate([p.index for p in parts]),
        scores=np.concatenate([p.scores for p in parts]),
        mask=np.concatenate([p.mask for p in parts]),
        instance_row=np.concatenate([p.instance_row + o for p, o in zip(parts, offsets)]) if has_instances else None,
        instance_start=np.concatenate([p.instance_start for p in parts]) if has_instances else None,
        instance_end=np.concatenate([p.instance_end for p in parts]) if has_instances else None,
    )
