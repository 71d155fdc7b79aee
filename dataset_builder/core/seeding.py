"""Counter-based seeds: one independent random stream per (seed, purpose, record index).

Every random choice in a build is keyed on the record it concerns rather than drawn from one shared
generator, so outputs do not depend on batch sizes, process counts or the order work is done in.
:func:`random_key` turns the ``random_state`` argument of any function into the key of such streams.
"""

from __future__ import annotations

import secrets
import zlib

import numpy as np

from .errors import UserError

_MASK = (1 << 64) - 1


def _splitmix64(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def stream_seeds(seed: int, purpose: str, indices) -> np.ndarray:
    """Seeds for the records ``indices`` of one purpose (e.g. ``"shuffle-positive"``).

    Parameters
    ----------
    seed : int
        The build's seed.
    purpose : str
        Names the use, so that streams for different uses never coincide.
    indices : array-like of int
        Record indices.

    Returns
    -------
    np.ndarray
        ``(len(indices),)`` uint64 seeds, a pure function of ``(seed, purpose, index)``.
    """
    key = (int(seed) & _MASK) ^ (zlib.crc32(purpose.encode()) << 32)
    base = _splitmix64(np.array([key], dtype=np.uint64))[0]
    return _splitmix64(np.asarray(indices, dtype=np.uint64) ^ base)


def generator(seed: int, purpose: str, index: int = 0) -> np.random.Generator:
    """A numpy Generator for one (seed, purpose, index) stream."""
    return np.random.default_rng(int(stream_seeds(seed, purpose, [index])[0]))


def random_key(random_state, bits: int = 64) -> int:
    """One integer key for a whole run from a ``random_state`` argument (the signature tail's).

    Methods derive per-record seeds from this key (:func:`stream_seeds`), so every slice or batch of a
    run sees the same seeds; a Generator passed on as is would give each batch new ones.

    Parameters
    ----------
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None
        An int is used as is (modulo ``2**bits``); a generator draws the key; None draws it from the OS.
    bits : int, default 64

    Returns
    -------
    int
        In ``[0, 2**bits)``.

    Raises
    ------
    UserError
        ``random_state`` is of another type (a bool included).
    """
    if random_state is None:
        return secrets.randbits(bits)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**bits, dtype=np.uint64))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63, dtype=np.int64))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state) % 2**bits
    raise UserError(f"random_state must be an int, a numpy Generator/RandomState or None, got {random_state!r}")
