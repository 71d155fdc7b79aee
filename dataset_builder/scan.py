"""FIMO-equivalent motif scanning.

:func:`scan` finds every window whose FIMO p-value is below a threshold, on both strands, with
FIMO's integer log-odds scores and exact p-values (:mod:`dataset_builder.pvalues`). Because the
scores are integers the result is exact and identical whatever the batch size or thread count.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist
from typing import Sequence

import numba
import numpy as np
import pandas as pd
import pyarrow as pa

from . import _scan_kernels
from .core.errors import UserError
from .core.log import progress
from .motifs import DEFAULT_PSEUDOCOUNT, Motif, _log_odds, check_background
from .core.sequences import encode_integers
from .pvalues import PSSM_RANGE, scale_log_odds

#: Columns of :func:`scan`'s result, in order, with their Arrow types (strings become pandas'
#: default string dtype).
HIT_SCHEMA = pa.schema(
    [
        ("sequence_index", pa.int64()),
        ("motif_index", pa.int32()),
        ("motif_id", pa.string()),
        ("motif_name", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("strand", pa.string()),
        ("score", pa.float64()),
        ("p_value", pa.float64()),
        ("matched", pa.string()),
    ]
)
HIT_COLUMNS = HIT_SCHEMA.names


def empty_hits() -> pd.DataFrame:
    """A hit table with no rows and :func:`scan`'s columns and dtypes."""
    return HIT_SCHEMA.empty_table().to_pandas()


class _Prepared:
    """One motif's integer matrix, cutoff and the p-values of the scores it can report."""

    __slots__ = ("scaled", "cutoff", "scale", "offset", "width", "tail", "grouped")

    def __init__(self, motif: Motif, background: np.ndarray, pseudocount: float, threshold: float, both_strands: bool):
        scaled, self.scale, self.offset = scale_log_odds(_log_odds(motif, background, pseudocount))
        self.scaled = scaled
        self.width = scaled.shape[1]
        max_score = int(scaled.max(axis=0).sum())
        # Only p-values from the cutoff up are needed. The DP skips the partial scores that cannot
        # reach a floor placed, by a normal approximation, where p is about 100 x threshold (the
        # exact table then decides); if the floor is not below the cutoff, the whole table is used.
        floor = _floor_guess(scaled, background, threshold)
        table = _scan_kernels.pvalue_table(scaled, background, np.int64(PSSM_RANGE), np.int64(floor))
        if floor > 0 and not table[floor] >= threshold:
            floor = 0
            table = _scan_kernels.pvalue_table(scaled, background, np.int64(PSSM_RANGE), np.int64(0))
        below = np.flatnonzero(table[floor : max_score + 1] < threshold)
        self.cutoff = floor + int(below[0]) if below.size else max_score + 1
        # Reported scores lie in [cutoff, max_score]; keep only that part of the table.
        self.tail = table[self.cutoff : max_score + 1].copy()
        # Motifs whose one-block test is selective are scanned 8 at a time (scan_group); the
        # others get the two/three-block test (scan_motif).
        rate = _scan_kernels.one_block_pass_rate(scaled, np.int64(self.cutoff), both_strands) if self.tail.size else 0.0
        self.grouped = self.width <= _scan_kernels.K or rate <= _scan_kernels.ONE_BLOCK_RATE


def _floor_guess(scaled: np.ndarray, background: np.ndarray, threshold: float) -> int:
    """A score below the cutoff in practice: the normal approximation's quantile at 100 x threshold."""
    if 100 * threshold >= 0.5:
        return 0
    mean = background @ scaled
    var = background @ scaled.astype(np.float64) ** 2 - mean**2
    z = NormalDist().inv_cdf(1 - 100 * threshold)
    guess = int(np.floor(mean.sum() + z * np.sqrt(max(var.sum(), 0.0))))
    return int(min(max(guess, 0), scaled.max(axis=0).sum()))


def _tasks(prepared: list[_Prepared]) -> list[list[int]]:
    """Motif indices per kernel call: groups of up to 8 one-block motifs, other motifs alone."""
    grouped = [k for k, p in enumerate(prepared) if p.tail.size and p.grouped]
    alone = [[k] for k, p in enumerate(prepared) if p.tail.size and not p.grouped]
    size = _scan_kernels.GROUP_SIZE
    return [grouped[i : i + size] for i in range(0, len(grouped), size)] + alone


def _check_motifs(motifs) -> list[Motif]:
    if isinstance(motifs, Motif):
        return [motifs]
    motifs = list(motifs)
    for i, m in enumerate(motifs):
        if not isinstance(m, Motif):
            raise UserError(f"motif {i} is a {type(m).__name__}, expected a Motif (see dataset_builder.motifs.load_motifs)")
    return motifs


def _sequence_groups(sequences) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(indices, (n, L) uint8 codes)`` per sequence length, in first-seen order."""
    if isinstance(sequences, np.ndarray):
        if sequences.ndim != 2:
            raise UserError(f"sequences must be a list of str or an (N, L) integer array, got shape {sequences.shape}")
        if sequences.dtype.kind not in "iu":
            raise UserError(f"integer-coded sequences must have an integer dtype, got {sequences.dtype}")
        if sequences.size and (sequences.min() < 0 or sequences.max() > 4):
            bad = np.argwhere((sequences < 0) | (sequences > 4))[0]
            raise UserError(f"sequence {bad[0]} position {bad[1]}: code {sequences[bad[0], bad[1]]} is not in 0..4 (A, C, G, T, N)")
        codes = np.ascontiguousarray(sequences, dtype=np.uint8)
        return [(np.arange(len(codes), dtype=np.int64), codes)]
    if isinstance(sequences, str):
        raise UserError("sequences must be a list of str, not a single str")
    sequences = list(sequences)
    for i, s in enumerate(sequences):
        if not isinstance(s, str):
            raise UserError(f"sequence {i} is a {type(s).__name__}, expected str")
    by_length: dict[int, list[int]] = {}
    for i, s in enumerate(sequences):
        by_length.setdefault(len(s), []).append(i)
    groups = []
    for idx in by_length.values():
        groups.append((np.array(idx, dtype=np.int64), encode_integers([sequences[i] for i in idx])))
    return groups


def _matched(batches, batch_of, rows, starts, strands, widths) -> pa.Array:
    """Matched bases as FIMO reports them (reverse-complemented on the minus strand)."""
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(widths, out=offsets[1:])
    data = np.empty(offsets[-1], dtype=np.uint8)
    for b, codes in enumerate(batches):
        sel = np.flatnonzero(batch_of == b)
        if sel.size:
            positions = rows[sel] * codes.shape[1] + starts[sel]
            _scan_kernels.matched_letters(codes.reshape(-1), positions, widths[sel], strands[sel], offsets[sel], data)
    return pa.LargeStringArray.from_buffers(len(rows), pa.py_buffer(offsets), pa.py_buffer(data)).cast(pa.string())


class PreparedMotifs:
    """Motifs ready to scan: integer matrices, cutoffs and p-value tails, computed once.

    Build it with :func:`prepare_motifs` and pass it to :func:`scan` in place of the motifs to scan
    many batches (or, after a fork, many processes) without preparing the motifs again.
    """

    def __init__(self, motifs, prepared, *, threshold, both_strands, weak):
        self.motifs = motifs
        self.prepared = prepared
        self.threshold = threshold
        self.both_strands = both_strands
        self.weak = weak
        self.tasks = _tasks(prepared)
        self.widths = np.array([p.width for p in prepared], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.motifs)


def prepare_motifs(motifs: Sequence[Motif], *, threshold: float = 1e-4, both_strands: bool = True, background=None,
                   pseudocount: float = DEFAULT_PSEUDOCOUNT, n_threads: int | None = None) -> PreparedMotifs:
    """Prepare motifs for :func:`scan` (see its parameters); warns about motifs that cannot give a hit."""
    motifs = _check_motifs(motifs)
    if not 0 < threshold <= 1:
        raise UserError(f"threshold must be in (0, 1], got {threshold}")
    bg = check_background(background, symmetrize=both_strands)
    n_threads = max(1, int(n_threads or numba.get_num_threads()))
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        prepared = list(pool.map(lambda m: _Prepared(m, bg, pseudocount, threshold, both_strands), motifs))
    weak = [m.id for m, p in zip(motifs, prepared) if p.tail.size == 0]
    if weak:
        warnings.warn(
            f"{len(weak)} motif(s) cannot reach p < {threshold:g} at any window and give no hits: "
            + ", ".join(weak[:5]) + (" ..." if len(weak) > 5 else ""),
            stacklevel=3,
        )
    return PreparedMotifs(motifs, prepared, threshold=threshold, both_strands=both_strands, weak=weak)


def _scan_batches(ready: PreparedMotifs, batches, pool, bar) -> list:
    """``(batch_number, motif_index, found)`` pieces of every batch, in task order."""
    prepared, both_strands, tasks = ready.prepared, ready.both_strands, ready.tasks
    pieces = []
    for batch_number, (indices, codes) in enumerate(batches):
        codes = np.ascontiguousarray(codes)
        batches[batch_number] = (indices, codes)
        flat = codes.reshape(-1)
        kmers = _scan_kernels.kmer_codes(flat)

        def run(task, flat=flat, length=codes.shape[1], kmers=kmers):
            if len(task) == 1:
                p = prepared[task[0]]
                return _scan_kernels.scan_motif(flat, length, kmers, p.scaled, p.cutoff, both_strands)
            scaled = np.ascontiguousarray(np.concatenate([prepared[k].scaled for k in task], axis=1))
            starts = np.cumsum([0] + [prepared[k].width for k in task]).astype(np.int64)
            cutoffs = np.array([prepared[k].cutoff for k in task], dtype=np.int64)
            return _scan_kernels.scan_group(flat, length, kmers, scaled, starts, cutoffs, both_strands)

        runs = [pool.submit(run, task) for task in tasks] if pool is not None else None
        for t, task in enumerate(tasks):
            found = runs[t].result() if runs is not None else run(task)
            if bar is not None:
                bar.update(len(task))
            if len(found):
                if len(task) == 1:
                    pieces.append((batch_number, np.full(len(found), task[0], dtype=np.int32), found))
                else:
                    members = np.asarray(task, dtype=np.int32)[found[:, 0]]
                    pieces.append((batch_number, members, found[:, 1:]))
        if bar is not None:
            bar.update(len(prepared) - sum(len(t) for t in tasks))
    return pieces


def scan_positions(ready: PreparedMotifs, codes: np.ndarray, *, n_threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the hits are, without building the hit table: what enrichment counting needs.

    Parameters
    ----------
    ready : PreparedMotifs
    codes : np.ndarray
        ``(N, L)`` uint8 integer codes.
    n_threads : int, default 1

    Returns
    -------
    rows, motif_index, starts : np.ndarray
        ``(H,)`` int64, int32, int64 for the ``H`` hits (in no particular order).
    """
    batches = [(np.arange(len(codes), dtype=np.int64), np.ascontiguousarray(codes, dtype=np.uint8))]
    if n_threads > 1:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            pieces = _scan_batches(ready, batches, pool, None)
    else:
        pieces = _scan_batches(ready, batches, None, None)
    if not pieces:
        return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64)
    return (np.concatenate([p[2][:, 0] for p in pieces]).astype(np.int64), np.concatenate([p[1] for p in pieces]),
            np.concatenate([p[2][:, 1] for p in pieces]).astype(np.int64))


def scan(
    motifs: Sequence[Motif] | PreparedMotifs,
    sequences,
    *,
    threshold: float = 1e-4,
    both_strands: bool = True,
    background=None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    batch_size: int = 50_000,
    n_threads: int | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Find motif occurrences as FIMO does: every window with p-value ``< threshold``.

    Scores and p-values follow FIMO (MEME suite) exactly: pseudocount ``0.1`` spread by the
    background, base-2 log-odds scaled to integers, p-values from the exact distribution of the
    integer score under the background (:mod:`dataset_builder.pvalues`). A window containing a
    base other than A, C, G, T is never a hit.

    Parameters
    ----------
    motifs : sequence of Motif, or PreparedMotifs
        The motifs, or motifs already prepared by :func:`prepare_motifs` (whose threshold,
        strands, background and pseudocount then apply and the arguments below are ignored).
    sequences : list of str, or np.ndarray
        DNA strings (any case, lengths may differ) or ``(N, L)`` integer codes A=0, C=1, G=2,
        T=3, N=4 (see :func:`dataset_builder.one_hot.encode_integers`).
    threshold : float, default 1e-4
        Report windows with p-value strictly below this.
    both_strands : bool, default True
        Also scan the reverse complement. As in FIMO, the background is then averaged with its
        complement so that both strands share one score distribution.
    background : array-like of 4 floats or None, default None
        A, C, G, T frequencies for the pseudocount, log-odds and p-values; None is uniform
        (FIMO's ``--bfile --uniform--``).
    pseudocount : float, default 0.1
        FIMO's ``--motif-pseudo``.
    batch_size : int, default 50000
        Sequences scanned at a time (bounds memory: 2 bytes of k-mer codes per position of a
        batch).
    n_threads : int or None, default None
        Threads scanning motifs in parallel; None uses ``numba.get_num_threads()``.
    verbose : bool, default False
        Show a progress bar over motifs and batches.

    Returns
    -------
    pandas.DataFrame
        One row per hit with columns ``sequence_index`` (int64), ``motif_index`` (int32, index
        into ``motifs``), ``motif_id``, ``motif_name``, ``start``, ``end`` (int64, 0-based
        half-open), ``strand`` (``'+'``/``'-'``), ``score`` (FIMO's log-odds score, float64),
        ``p_value`` (float64, never 0), ``matched`` (the window's bases, reverse-complemented on
        ``'-'`` as FIMO reports them); sorted by sequence_index, start, motif_index, strand.
    """
    if batch_size < 1:
        raise UserError(f"batch_size must be >= 1, got {batch_size}")
    if not isinstance(motifs, PreparedMotifs):
        motifs = _check_motifs(motifs)
        if not 0 < threshold <= 1:
            raise UserError(f"threshold must be in (0, 1], got {threshold}")
    groups = _sequence_groups(sequences)
    if not len(motifs) or not groups:
        return empty_hits()
    n_threads = max(1, int(n_threads or numba.get_num_threads()))
    if not isinstance(motifs, PreparedMotifs):
        motifs = prepare_motifs(motifs, threshold=threshold, both_strands=both_strands, background=background,
                                pseudocount=pseudocount, n_threads=n_threads)
    ready = motifs
    batches = [(idx[i : i + batch_size], codes[i : i + batch_size]) for idx, codes in groups for i in range(0, len(codes), batch_size)]
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        with progress(total=len(batches) * len(ready), desc="Scanning motifs", unit="motif", verbose=verbose) as bar:
            pieces = _scan_batches(ready, batches, pool if n_threads > 1 else None, bar)
    if not pieces:
        return empty_hits()
    return _hit_table(ready.motifs, ready.prepared, batches, pieces)


def _hit_table(motifs, prepared, batches, pieces) -> pd.DataFrame:
    batch_of = np.concatenate([np.full(len(p[2]), p[0], dtype=np.int64) for p in pieces])
    motif_index = np.concatenate([p[1] for p in pieces])
    found = np.concatenate([p[2] for p in pieces])
    rows, starts, strands, scaled_scores = found[:, 0], found[:, 1], found[:, 2], found[:, 3]
    seq_index = np.concatenate([batches[p[0]][0][p[2][:, 0]] for p in pieces])

    # One sort key: sequence, start, motif, strand (the key fits int64 for any realistic input).
    n_motifs = len(motifs)
    max_start = int(starts.max()) + 1
    key = ((seq_index * max_start + starts) * n_motifs + motif_index) * 2 + strands
    order = np.argsort(key, kind="stable")
    batch_of, motif_index, rows, starts, strands, scaled_scores, seq_index = (
        a[order] for a in (batch_of, motif_index, rows, starts, strands, scaled_scores, seq_index)
    )

    widths = np.array([p.width for p in prepared], dtype=np.int64)[motif_index]
    scale = np.array([p.scale for p in prepared])[motif_index]
    offset = np.array([p.offset for p in prepared])[motif_index]
    tail_start = np.cumsum([0] + [p.tail.size for p in prepared])
    tails = np.concatenate([p.tail for p in prepared])
    cutoffs = np.array([p.cutoff for p in prepared], dtype=np.int64)[motif_index]
    p_values = tails[tail_start[motif_index] + scaled_scores - cutoffs]
    matched = _matched([codes for _, codes in batches], batch_of, rows, starts, strands, widths)

    take = pa.array(motif_index)
    table = pa.table(
        {
            "sequence_index": pa.array(seq_index.astype(np.int64)),
            "motif_index": take,
            "motif_id": pa.array([m.id for m in motifs], type=pa.string()).take(take),
            "motif_name": pa.array([m.name for m in motifs], type=pa.string()).take(take),
            "start": pa.array(starts.astype(np.int64)),
            "end": pa.array((starts + widths).astype(np.int64)),
            "strand": pa.array(["+", "-"], type=pa.string()).take(pa.array(strands)),
            "score": pa.array(scaled_scores / scale + widths * offset),
            "p_value": pa.array(p_values),
            "matched": matched,
        },
        schema=HIT_SCHEMA,
    )
    return table.to_pandas()
