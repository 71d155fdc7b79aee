"""Train / validation / test assignment of the real regions.

Splits are assigned to the *real* positive and background regions before simulation, so that a
simulated negative can take its shuffled backbone from a positive of its own split.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .core.errors import UserError
from .core.seeding import generator

SPLITS = ("train", "validation", "test")


def random_splits(n: int, fractions: Sequence[float], *, random_state: int, purpose: str) -> np.ndarray:
    """Assign ``n`` records to splits at random, in exact proportions.

    Parameters
    ----------
    n : int
        Number of records.
    fractions : (3,) floats
        Train, validation and test fractions; they must sum to 1.
    random_state : int
        Seed; with ``purpose`` it fixes the permutation.
    purpose : str
        Separates the streams of different record sets (e.g. ``"positives"``).

    Returns
    -------
    np.ndarray
        ``(n,)`` array of split names.
    """
    fractions = np.asarray(fractions, dtype=float)
    if fractions.shape != (3,) or (fractions < 0).any() or not np.isclose(fractions.sum(), 1):
        raise UserError(f"--split-fractions must be three non-negative numbers summing to 1, got {list(fractions)}")
    boundaries = np.round(np.cumsum(fractions) * n).astype(int)
    order = generator(random_state, f"splits-{purpose}").permutation(n)
    names = np.empty(n, dtype=object)
    names[order[: boundaries[0]]] = "train"
    names[order[boundaries[0] : boundaries[1]]] = "validation"
    names[order[boundaries[1] :]] = "test"
    return names


def chromosome_splits(
    chroms: Sequence[str | None], *, validation_chroms: Sequence[str], test_chroms: Sequence[str], what: str
) -> np.ndarray:
    """Hold out named chromosomes: records on ``test_chroms`` go to test, ``validation_chroms`` to
    validation, the rest to train. Needs every record's chromosome (``what`` names the set in errors)."""
    overlap = set(validation_chroms) & set(test_chroms)
    if overlap:
        raise UserError(f"chromosomes {sorted(overlap)} are named for both validation and test")
    names = np.empty(len(chroms), dtype=object)
    for i, chrom in enumerate(chroms):
        if chrom is None:
            raise UserError(
                f"{what} record {i + 1} has no coordinates (header is not chrom:start-end); "
                "chromosome hold-out needs them — use random splits instead"
            )
        names[i] = "test" if chrom in test_chroms else "validation" if chrom in validation_chroms else "train"
    return names
