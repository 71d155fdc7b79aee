"""From aligned seqlets to a motif: count the bases, trim to the informative core.

TF-MoDISco groups seqlets (short windows of high attribution) into patterns and aligns them; each
seqlet is ``(example, start, end, is_revcomp)`` in the scored sequences. :func:`seqlet_counts` counts
the observed bases of a pattern's aligned seqlets into a ``(4, w)`` position frequency matrix (reverse
complemented seqlets are read on the opposite strand, as TF-MoDISco reads them), and :func:`core_span`
finds its informative core: the span from the first to the last column carrying at least ``min_ic``
bits of information (columns inside the span are kept whatever their content, so gapped motifs keep
their spacer).
"""

from __future__ import annotations

import numpy as np

#: Information (bits) a column needs to count as part of a motif's core.
DEFAULT_MIN_IC = 0.5


def seqlet_counts(X: np.ndarray, seqlets) -> np.ndarray:
    """Base counts of aligned seqlets.

    Parameters
    ----------
    X : np.ndarray
        ``(N, 4, L)`` one-hot sequences (A, C, G, T) the seqlets were found in.
    seqlets : iterable of (int, int, int, bool)
        ``(example, start, end, is_revcomp)``, 0-based half-open, all of one width ``w``.

    Returns
    -------
    np.ndarray
        ``(4, w)`` float64 counts; column ``j`` counts the bases at offset ``j`` of every seqlet (on the
        reverse strand for reverse-complemented seqlets).
    """
    coords = [tuple(s) for s in seqlets]
    if not coords:
        raise ValueError("no seqlets")
    widths = {end - start for _, start, end, _ in coords}
    if len(widths) != 1:
        raise ValueError(f"seqlets of different widths: {sorted(widths)}")
    counts = np.zeros((4, widths.pop()), dtype=np.float64)
    for example, start, end, is_revcomp in coords:
        window = np.asarray(X[example, :, start:end], dtype=np.float64)
        counts += window[::-1, ::-1] if is_revcomp else window
    return counts


def information_content(counts: np.ndarray, pseudocount: float = 0.5) -> np.ndarray:
    """Bits of information of each column of a ``(4, w)`` count matrix against a uniform background:
    ``2 + sum_b p_b log2 p_b`` with ``p`` the counts plus ``pseudocount`` per base, normalised."""
    p = np.asarray(counts, dtype=np.float64) + pseudocount
    p = p / p.sum(axis=0, keepdims=True)
    return 2 + (p * np.log2(p)).sum(axis=0)


def core_span(counts: np.ndarray, min_ic: float = DEFAULT_MIN_IC) -> tuple[int, int] | None:
    """``(start, end)`` of the informative core of a ``(4, w)`` count matrix, or None when no column
    reaches ``min_ic`` bits (:func:`information_content`)."""
    informative = np.flatnonzero(information_content(counts) >= min_ic)
    if len(informative) == 0:
        return None
    return int(informative[0]), int(informative[-1]) + 1
