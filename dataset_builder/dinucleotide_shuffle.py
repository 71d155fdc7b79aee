"""Exact, uniform dinucleotide shuffling.

:func:`dinucleotide_shuffle` keeps every dinucleotide count and the first and last base of a
sequence and draws uniformly among all sequences that do (the Altschul-Erikson algorithm, as in
ushuffle: a random last-exit arborescence, then a random Eulerian walk). The shuffles of DeepLIFT's
``dinuc_shuffle`` (the paper's code) and tangermeme are valid but not uniform: there the last
occurrence of every base always keeps its original successor.

Every (sequence, shuffle) pair draws from its own random stream, derived from the seed of the
sequence and the shuffle index, so results are identical whatever the batch size or thread count,
and shuffling ``X[a:b]`` with ``seeds=sequence_seeds(random_state, range(a, b))`` gives
``dinucleotide_shuffle(X, random_state=random_state)[a:b]``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from . import _shuffle_kernels as kernels
from .core.errors import UserError
from .core.log import progress
from .core.seeding import random_key
from .core.sequences import encode_integers

__all__ = ["dinucleotide_shuffle", "dinucleotide_counts", "sequence_seeds"]

_BLOCK = 16384  # sequences per progress-bar step
_PARALLEL_MIN_WORK = 500_000  # bases to write before threads pay for themselves


def sequence_seeds(random_state, index) -> np.ndarray:
    """The per-sequence seeds that ``random_state`` gives the sequences at positions ``index``.

    Parameters
    ----------
    random_state : int, numpy Generator or RandomState, or None
        The run's seed; None draws fresh entropy (so the seeds are not reproducible).
    index : int or array-like of int
        ``N`` (meaning ``range(N)``) or the global positions of the sequences, ``(N,)``.

    Returns
    -------
    np.ndarray
        ``(N,)`` uint64 seeds for :func:`dinucleotide_shuffle`'s ``seeds``.
    """
    key = random_key(random_state)
    index = np.arange(index) if np.ndim(index) == 0 else np.asarray(index)
    if index.ndim != 1 or (index.size and not np.issubdtype(index.dtype, np.integer)):
        raise UserError(f"index must be an integer or a 1-D array of integers, got shape "
                        f"{index.shape} and dtype {index.dtype}")
    return kernels.derive_seeds(np.uint64(key), index.astype(np.int64).view(np.uint64))


def dinucleotide_shuffle(X, n: int = 1, *, seeds=None, random_state=None, verbose: bool = False):
    """Shuffle sequences uniformly among those with the same dinucleotide counts.

    Each shuffle keeps the count of every dinucleotide and the first and last base, and is drawn
    uniformly from all sequences that do (ushuffle's algorithm, compiled with numba). Bases other
    than A, C, G, T are shuffled as a letter of their own. Large calls run on
    ``numba.get_num_threads()`` threads (set ``NUMBA_NUM_THREADS`` or ``numba.set_num_threads``);
    the result never depends on it.

    Parameters
    ----------
    X : np.ndarray, torch.Tensor or list of str
        ``(N, L)`` integer codes (A=0, C=1, G=2, T=3, 4 = any other base);
        or ``(N, 4, L)`` one-hot in A, C, G, T order, all-zero columns for other bases;
        or a list of ``N`` strings, which may differ in length; they are upper-cased and every
        character other than A, C, G, T is a letter of its own (``N`` stays ``N``).
    n : int, default 1
        Shuffles per sequence.
    seeds : array-like of int, shape ``(N,)``, optional
        An explicit seed per sequence (e.g. from :func:`sequence_seeds` on global indices), used
        instead of ``random_state``.
    random_state : int, numpy Generator or RandomState, or None, default None
        Seed of the run; sequence ``i`` gets ``sequence_seeds(random_state, N)[i]``.
        None draws fresh entropy.
    verbose : bool, default False
        Show a progress bar.

    Returns
    -------
    np.ndarray, torch.Tensor or list of list of str
        Codes in: ``(N, n, L)`` uint8. One-hot in: ``(N, n, 4, L)`` of X's dtype (a tensor on X's
        device for a tensor; mind the memory: ``N * n * 4 * L`` values). Strings in: ``N`` lists
        of ``n`` strings.

    Examples
    --------
    >>> dinucleotide_shuffle(["ACGTTGCAACNGT"], n=3, random_state=0)
    [['AACNGCACGTTGT', 'AACACGCNGTTGT', 'AACACNGTGCGTT']]
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise UserError(f"n must be a non-negative integer, got {n!r}")
    n = int(n)
    if type(X).__module__.startswith("torch"):
        return _shuffle_tensor(X, n, seeds, random_state, verbose)
    if isinstance(X, str):
        raise UserError("X is a single string; pass a list of strings, e.g. [sequence]")
    if isinstance(X, np.ndarray) and X.dtype.kind in "iufb":
        if X.ndim == 2 and X.dtype.kind in "iu":
            return _shuffle_codes(X, n, seeds, random_state, verbose)
        if X.ndim == 3 and X.shape[1] == 4:
            return _shuffle_one_hot(X, n, seeds, random_state, verbose)
        raise UserError(f"X must be (N, L) integer codes or (N, 4, L) one-hot, got shape {X.shape} "
                        f"and dtype {X.dtype}")
    if isinstance(X, np.ndarray) and X.dtype.kind not in "UO":
        raise UserError(f"X has unsupported dtype {X.dtype}")
    if isinstance(X, (list, tuple, np.ndarray)):
        return _shuffle_strings(list(X), n, seeds, random_state, verbose)
    raise UserError(f"X must be a numpy array, a torch tensor or a list of strings, got {type(X)}")


def dinucleotide_counts(X) -> np.ndarray:
    """Count the dinucleotides of each sequence, with a fifth letter for any other base.

    Parameters
    ----------
    X : np.ndarray or list of str
        Integer codes ``(..., L)`` (values 0-4), one-hot ``(..., 4, L)`` (float or bool; all-zero
        columns count as the fifth letter), or a list of ``N`` strings.

    Returns
    -------
    np.ndarray
        ``(..., 5, 5)`` int64; ``[..., a, b]`` counts the positions ``j`` with ``x[j] = a`` and
        ``x[j + 1] = b``. ``(N, 5, 5)`` for strings.
    """
    if isinstance(X, (list, tuple)):
        if not X:
            return np.zeros((0, 5, 5), dtype=np.int64)
        return np.stack([_counts_1d(encode_integers([s])[0]) for s in X])
    X = np.asarray(X)
    if X.dtype.kind in "iu":
        codes = X
    else:
        codes = (X.argmax(axis=-2) + 5 * (X.sum(axis=-2) == 0)).clip(max=4)
    pairs = codes[..., :-1].astype(np.int64) * 5 + codes[..., 1:]
    lead = pairs.shape[:-1]
    n_rows = int(np.prod(lead))
    flat = pairs.reshape(n_rows, pairs.shape[-1]) + 25 * np.arange(n_rows)[:, None]
    counts = np.bincount(flat.ravel(), minlength=25 * n_rows)
    return counts.reshape(*lead, 5, 5)


# --- inputs --------------------------------------------------------------------------------------

def _seeds_for(n_seq: int, seeds, random_state) -> np.ndarray:
    if seeds is None:
        return sequence_seeds(random_state, n_seq)
    if random_state is not None:
        raise UserError("give either seeds or random_state, not both")
    seeds = np.asarray(seeds)
    if seeds.shape != (n_seq,) or (n_seq and not np.issubdtype(seeds.dtype, np.integer)):
        raise UserError(f"seeds must be {n_seq} integers, one per sequence, got shape "
                        f"{seeds.shape} and dtype {seeds.dtype}")
    if seeds.dtype.kind == "i":  # negative seeds wrap around to 64 bits
        return seeds.astype(np.int64).view(np.uint64)
    return seeds.astype(np.uint64)


def _chunks(n_items: int, work: int) -> list[tuple[int, int]]:
    """Split ``range(n_items)`` into slices for the threads (one slice for small work)."""
    n_threads = numba.get_num_threads()
    if n_threads <= 1 or n_items < 2 or work < _PARALLEL_MIN_WORK:
        return [(0, n_items)]
    bounds = np.linspace(0, n_items, min(n_items, 4 * n_threads) + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _on_threads(fn, chunks: list[tuple[int, int]]) -> list:
    """``[fn(a, b) for a, b in chunks]``, on numba's thread count (the kernels release the GIL).
    Chunks write disjoint outputs, so results never depend on the thread count."""
    if len(chunks) == 1:
        return [fn(*chunks[0])]
    with ThreadPoolExecutor(max_workers=numba.get_num_threads()) as pool:
        return list(pool.map(lambda ab: fn(*ab), chunks))


def _counts_1d(codes: np.ndarray) -> np.ndarray:
    return np.bincount(codes[:-1].astype(np.int64) * 5 + codes[1:], minlength=25).reshape(5, 5)


# --- paths ---------------------------------------------------------------------------------------

def _run_flat(flat, offsets, n_letters, n, seed_array, verbose) -> np.ndarray:
    """Shuffle concatenated sequences; returns the flat ``n * len(flat)`` uint8 output."""
    n_seq = len(offsets) - 1
    out = np.empty(n * int(offsets[-1]), dtype=np.uint8)

    def shuffle_slice(a, b):
        lo, hi = int(offsets[a]), int(offsets[b])
        kernels.shuffle_codes(flat[lo:hi], offsets[a:b + 1] - lo, n_letters, n, seed_array[a:b],
                              out[n * lo:n * hi])

    with progress(total=n_seq, desc="dinucleotide shuffle", unit="seq", verbose=verbose) as bar:
        for a in range(0, n_seq, _BLOCK):
            b = min(a + _BLOCK, n_seq)
            chunks = _chunks(b - a, n * int(offsets[b] - offsets[a]))
            _on_threads(lambda lo, hi: shuffle_slice(a + lo, a + hi), chunks)
            bar.update(b - a)
    return out


def _shuffle_codes(X, n, seeds, random_state, verbose):
    n_seq, length = X.shape
    seed_array = _seeds_for(n_seq, seeds, random_state)
    if X.size and (X.max() > 4 or X.min() < 0):
        i = int(np.flatnonzero(((X < 0) | (X > 4)).any(axis=1))[0])
        value = X[i][(X[i] < 0) | (X[i] > 4)][0]
        raise UserError(f"example {i}: integer codes must be 0-4 (A, C, G, T, other), "
                        f"found {value}")
    flat = np.ascontiguousarray(X, dtype=np.uint8).ravel()
    offsets = np.arange(n_seq + 1, dtype=np.int64) * length
    return _run_flat(flat, offsets, 5, n, seed_array, verbose).reshape(n_seq, n, length)


def _shuffle_one_hot(X, n, seeds, random_state, verbose):
    n_seq, _, length = X.shape
    seed_array = _seeds_for(n_seq, seeds, random_state)
    native = X.dtype in (np.float32, np.float64)
    src = np.ascontiguousarray(X if native else X.astype(np.float32))
    codes = np.empty((n_seq, length), dtype=np.uint8)
    if X.size:
        chunks = _chunks(n_seq, src.size)
        first_bad = _on_threads(lambda a, b: kernels.codes_from_one_hot(src[a:b], codes[a:b]),
                                chunks)
        bad = [a * length + f for (a, _), f in zip(chunks, first_bad) if f >= 0]
        if bad:
            i, j = divmod(int(bad[0]), length)
            raise UserError(f"example {i}, position {j}: one-hot column {X[i, :, j].tolist()} is "
                            "neither one-hot nor all-zero")
    offsets = np.arange(n_seq + 1, dtype=np.int64) * length
    shuffled = _run_flat(codes.ravel(), offsets, 5, n, seed_array, verbose)
    out = np.empty((n_seq, n, 4, length), dtype=src.dtype)
    rows, out_rows = shuffled.reshape(n_seq * n, length), out.reshape(n_seq * n, 4, length)
    _on_threads(lambda a, b: kernels.one_hot_from_codes(rows[a:b], out_rows[a:b]),
                _chunks(n_seq * n, out.size))
    return out if native else out.astype(X.dtype)


def _shuffle_strings(sequences: list, n, seeds, random_state, verbose):
    for i, s in enumerate(sequences):
        if not isinstance(s, str):
            raise UserError(f"example {i} is a {type(s).__name__}, expected a string")
    try:
        raw = np.frombuffer("".join(sequences).upper().encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        i = next(i for i, s in enumerate(sequences) if not s.isascii())
        raise UserError(f"example {i} has a non-ASCII character") from None
    seed_array = _seeds_for(len(sequences), seeds, random_state)
    letters = np.frombuffer(b"ACGT", np.uint8)
    present = np.bincount(raw, minlength=256) > 0
    present[letters] = False
    alphabet = np.concatenate([letters, np.flatnonzero(present).astype(np.uint8)])
    table = np.zeros(256, dtype=np.uint8)
    table[alphabet] = np.arange(len(alphabet), dtype=np.uint8)
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out = _run_flat(table[raw], offsets, len(alphabet), n, seed_array, verbose)
    text = alphabet[out].tobytes().decode("ascii")
    result = []
    for i, length in enumerate(lengths.tolist()):
        base = n * int(offsets[i])
        result.append([text[base + k * length: base + (k + 1) * length] for k in range(n)])
    return result


def _shuffle_tensor(X, n, seeds, random_state, verbose):
    import torch

    array = X.detach().to("cpu")
    if array.is_floating_point() and array.dtype not in (torch.float32, torch.float64):
        array = array.float()
    out = dinucleotide_shuffle(array.numpy(), n, seeds=seeds, random_state=random_state,
                               verbose=verbose)
    return torch.from_numpy(out).to(device=X.device, dtype=X.dtype if X.ndim == 3 else torch.uint8)
