"""FIMO-equivalent integer scores and exact p-values.

FIMO (MEME suite, ``pssm.c``) does not take p-values from the float log-odds score. It scales the
log-odds matrix to integers and computes the exact distribution of the integer score:

1. ``offset = floor(min)``, ``scale = floor(range / (max - offset))`` over all cells of the
   ``(4, w)`` log-odds matrix, ``range = 1000`` (``PSSM_RANGE``); every cell becomes
   ``nint((x - offset) * scale)``, an integer in ``[0, range]``, so a window scores an integer
   in ``[0, w * range]`` (``scale_score_matrix``).
2. Under the zero-order background, the probability of every integer score is computed by
   dynamic programming over the columns (``get_pdf_table``), and ``pvalues[s] = P(S >= s)``
   (``get_pv_lookup``), summed from the top so that every reachable score has ``p > 0``.
3. A window's reported score is ``s / scale + w * offset`` (``scaled_to_raw``), its p-value
   ``pvalues[s]``.

This module reproduces those steps bit for bit (same operation order, MEME's rounding), so that
regsim's hits equal FIMO's; it is cross-checked against ``pymemesuite`` in the tests. (The scan
computes only the top of each table, from a floor below its score cutoff: the entries it uses are
the same, bit for bit.)

Background conventions: regsim's default background is uniform (FIMO's ``--bfile --uniform--``);
FIMO's command line defaults to the NRDB frequencies made strand-symmetric, which
``scan(..., background=...)`` reproduces when given those frequencies.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._scan_kernels import pvalue_table
from .core.errors import UserError
from .motifs import DEFAULT_PSEUDOCOUNT, Motif, _log_odds, check_background

#: FIMO's range of a column's integer scores (``PSSM_RANGE`` in MEME's pssm.h).
PSSM_RANGE = 1000


def scale_log_odds(log_odds: np.ndarray, range: int = PSSM_RANGE) -> tuple[np.ndarray, float, float]:
    """Scale a log-odds matrix to integers as FIMO does (``scale_score_matrix``).

    Parameters
    ----------
    log_odds : np.ndarray
        ``(4, w)`` float64 log-odds.
    range : int, default 1000
        Largest integer score of a cell.

    Returns
    -------
    scaled : np.ndarray
        ``(4, w)`` int32 in ``[0, range]``.
    scale : float
        Integer-valued scale factor.
    offset : float
        Integer-valued offset (the floor of the smallest cell).
    """
    log_odds = np.asarray(log_odds, dtype=np.float64)
    small, large = float(log_odds.min()), float(log_odds.max())
    if not (np.isfinite(small) and np.isfinite(large)):
        raise ValueError("log-odds must be finite")
    if large == small:
        small = large - 1
    offset = float(np.floor(small))
    scale = float(np.floor(range / (large - offset)))
    x = (log_odds - offset) * scale
    # MEME's nint: (int)(x + 0.5) for x >= 0 (always the case here, as offset <= min).
    scaled = np.ascontiguousarray(np.floor(x + 0.5), dtype=np.int32)
    return scaled, scale, offset


def score_pvalues(scaled: np.ndarray, background=None, range: int = PSSM_RANGE) -> np.ndarray:
    """Exact p-values of every integer score (``get_pdf_table`` and ``get_pv_lookup``).

    Parameters
    ----------
    scaled : np.ndarray
        ``(4, w)`` integer scores in ``[0, range]``.
    background : array-like of 4 floats or None, default None (uniform)
    range : int, default 1000

    Returns
    -------
    np.ndarray
        ``(w * range + 1,)`` float64, ``pvalues[s] = P(score >= s)`` under the background; 0 only
        for scores above the motif's maximum.
    """
    scaled = np.ascontiguousarray(scaled, dtype=np.int32)
    if scaled.ndim != 2 or scaled.shape[0] != 4:
        raise ValueError(f"scaled must have shape (4, w), got {scaled.shape}")
    if scaled.min() < 0 or scaled.max() > range:
        raise ValueError(f"scaled scores must lie in [0, {range}]")
    return pvalue_table(scaled, check_background(background), np.int64(range), np.int64(0))


@dataclasses.dataclass(frozen=True, eq=False)
class ScaledPSSM:
    """A motif's FIMO integer score matrix with its exact p-value table.

    Attributes
    ----------
    scaled : np.ndarray
        ``(4, w)`` int32 integer scores of the forward strand.
    scale, offset : float
        ``raw = scaled_sum / scale + w * offset``.
    pvalues : np.ndarray
        ``(w * 1000 + 1,)`` float64, ``P(score >= s)``.
    background : np.ndarray
        ``(4,)`` background the matrix and p-values refer to.
    """

    scaled: np.ndarray
    scale: float
    offset: float
    pvalues: np.ndarray
    background: np.ndarray

    @property
    def width(self) -> int:
        return self.scaled.shape[1]

    @property
    def max_score(self) -> int:
        """Largest reachable integer score."""
        return int(self.scaled.max(axis=0).sum())

    def raw_score(self, scaled_score):
        """FIMO's reported log-odds score of integer score(s): ``s / scale + w * offset``."""
        return np.asarray(scaled_score, dtype=np.float64) / self.scale + self.width * self.offset

    def pvalue(self, scaled_score):
        """Exact p-value(s) ``P(score >= s)`` of integer score(s)."""
        return self.pvalues[np.asarray(scaled_score, dtype=np.int64)]

    def score_cutoff(self, threshold: float) -> int:
        """Smallest integer score with p-value ``< threshold``; ``max_score + 1`` if there is none."""
        below = np.flatnonzero(self.pvalues[: self.max_score + 1] < threshold)
        return int(below[0]) if below.size else self.max_score + 1


def scaled_pssm(motif: Motif, background=None, pseudocount: float = DEFAULT_PSEUDOCOUNT, range: int = PSSM_RANGE) -> ScaledPSSM:
    """FIMO's integer matrix and p-value table for a motif.

    Parameters
    ----------
    motif : Motif
    background : array-like of 4 floats or None, default None (uniform)
        Used for the pseudocount, the log-odds and the p-values, as FIMO does.
    pseudocount : float, default 0.1
    range : int, default 1000

    Returns
    -------
    ScaledPSSM
    """
    if not pseudocount >= 0:
        raise UserError(f"pseudocount must be >= 0, got {pseudocount}")
    return _scaled_pssm(motif, check_background(background), pseudocount, range)


def _scaled_pssm(motif: Motif, bg: np.ndarray, pseudocount: float, range: int = PSSM_RANGE) -> ScaledPSSM:
    """:func:`scaled_pssm` for an already validated background and pseudocount."""
    scaled, scale, offset = scale_log_odds(_log_odds(motif, bg, pseudocount), range)
    return ScaledPSSM(scaled, scale, offset, pvalue_table(scaled, bg, np.int64(range), np.int64(0)), bg)
