"""Localisation metrics that need the scores themselves, not only their order.

Relevance rank accuracy and top-k precision come from the sorted rows in ``_ranking``; the pointing
game also does when ``tolerance`` is 0.
"""

from __future__ import annotations

import numpy as np


def relevance_mass_accuracy(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Share of the positive relevance that falls inside the motifs, per row (Arras et al. 2022).

    ``sum(max(s, 0) inside) / sum(max(s, 0))``; with ``abs=True`` every score is already
    ``|attribution|``.  A row without any positive relevance gets ``|motif| / L``, the value of any
    constant attribution, so "no information" scores as chance rather than as 0 or 1.
    """
    positive = scores.astype(np.float64)
    np.maximum(positive, 0.0, out=positive)
    total = positive.sum(axis=1)
    np.multiply(positive, mask, out=positive)
    inside = positive.sum(axis=1)
    chance = mask.sum(axis=1) / mask.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1.0), chance)


def dilate(mask: np.ndarray, tolerance: int) -> np.ndarray:
    """Bases within ``tolerance`` positions of a motif base."""
    if tolerance <= 0:
        return mask
    length = mask.shape[1]
    covered = np.zeros((mask.shape[0], length + 1), dtype=np.int64)
    np.cumsum(mask, axis=1, out=covered[:, 1:])
    base = np.arange(length)
    low = np.maximum(base - tolerance, 0)
    high = np.minimum(base + tolerance + 1, length)
    return (covered[:, high] - covered[:, low]) > 0


def pointing_game(scores: np.ndarray, mask: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """Per row: does the highest score point into a motif (within ``tolerance`` bases)?

    Zhang et al. (2018) count a hit when the maximum lies on the object, up to a tolerance.  When
    several bases share the maximum, the row scores the share of them that hit, i.e. the expected
    hit under a random choice among the tied maxima.
    """
    target = dilate(mask, tolerance)
    at_max = scores == scores.max(axis=1, keepdims=True)
    return (at_max & target).sum(axis=1) / at_max.sum(axis=1)
