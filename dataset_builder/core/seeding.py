"""Counter-based seeds: one independent random stream per (seed, purpose, record index).

Every random choice in a build is keyed on the record it concerns rather than drawn from one shared
generator, so outputs do not depend on batch sizes, process counts or the order work is done in.
"""

from __future__ import annotations

import zlib

import numpy as np

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
