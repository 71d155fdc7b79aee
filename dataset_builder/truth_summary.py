"""What the card says about the chosen motifs: truth coverage and contrast, clusters, de novo matches."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLLAPSE_SENTENCE = (
    ", collapsed to one motif per cluster of TOMTOM-similar motifs (q < {q}; the most enriched member "
    "represents its cluster, the others are listed with it in `retained_motifs.tsv`)"
)


def truth_coverage(labels: np.ndarray, masked: np.ndarray, width: int) -> dict:
    """Share of positive and of negative bases inside the truth, and their ratio (the truth's contrast).

    Parameters
    ----------
    labels : np.ndarray
        ``(N,)`` 0/1 labels.
    masked : np.ndarray
        ``(N,)`` per sequence: its bases inside the truth (``motif_mask`` set), as the streaming build
        accumulates them.
    width : int
        Bases per sequence.

    Returns
    -------
    dict
        ``positive``, ``negative`` (shares of bases, in [0, 1]) and ``contrast`` (positive / negative;
        None when no negative base is covered).
    """
    labels, masked = np.asarray(labels), np.asarray(masked, dtype=np.int64)
    shares = {}
    for name, label in (("positive", 1), ("negative", 0)):
        rows = labels == label
        total = int(rows.sum()) * width
        shares[name] = int(masked[rows].sum()) / total if total else 0.0
    shares["contrast"] = shares["positive"] / shares["negative"] if shares["negative"] else None
    return {k: (round(v, 6) if v is not None else None) for k, v in shares.items()}


def coverage_sentence(coverage: dict) -> str:
    """One card sentence on the truth's coverage and contrast."""
    contrast = "undefined" if coverage["contrast"] is None else f"{coverage['contrast']:.2f}"
    return (f"The ground truth covers {coverage['positive']:.1%} of positive bases and {coverage['negative']:.1%} of "
            f"negative bases (contrast, positive over negative coverage: {contrast}).")


def note_header(table: pd.DataFrame) -> str:
    """The header of the card's extra enrichment column, or "" when the table has nothing to add."""
    if "best_match_id" in table:
        return "best TOMTOM match (q)"
    if "representative" in table:
        return "cluster representative (TOMTOM q)"
    return ""


def enrichment_notes(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a ``note`` column: the best database match of a de novo motif, or the cluster
    representative of a collapsed motif."""
    notes = [""] * len(table)
    if "best_match_id" in table:
        notes = [f"{r.best_match_id} {r.best_match_name} ({r.best_match_q:.2g})" if isinstance(r.best_match_id, str) else ""
                 for r in table.itertuples()]
    elif "representative" in table:
        notes = [
            "" if not r.representative else ("itself" if r.representative == r.motif_id else
                                             f"{r.representative} ({r.representative_q:.2g})")
            for r in table.itertuples()
        ]
    return table.assign(note=notes)
