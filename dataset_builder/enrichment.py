"""Which motifs are enriched in the positives: the paper's motif filter.

For every motif, hits are weighted towards the window centre with a triangular weight

    w = 1 - |hit_centre - width / 2| / (width / 2)

(1 at the centre, 0 at either edge; ``hit_centre = (start + end) / 2``). The weighted hit density of a
set is ``(sum of w + 1) / number of sequences`` (one full-weight pseudo-hit keeps a motif with no
background hit from reaching an infinite ratio), and the enrichment is the positives' density over the
background's. A motif is retained when it has at least ``min_hits`` (unweighted) hits in the positives
and an enrichment of at least ``min_enrichment``; the paper used 1000 and 1.25 on tens of thousands of
peaks. :func:`default_min_hits` scales the hit floor with the input (2 % of the positives, at least 10),
which is the paper's 1000 at 50,000 peaks.

regsim goes one step further by default: of the motifs that pass both filters it keeps only the
``max_motifs`` most enriched (default 20). A full JASPAR scan passes hundreds of largely redundant
motifs (e.g. 325 of 879 on the embedded Oct4 data), whose instances and chance matches then cover most
bases of every sequence (67 % of positive bases), leaving a per-base truth with little contrast;
with 20 motifs the instances cover about 14 % of positive bases. ``max_motifs=None`` keeps every motif
that passes, as the paper did.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

ENRICHMENT_COLUMNS = [
    "motif_id",
    "motif_name",
    "positive_hits",
    "background_hits",
    "positive_density",
    "background_density",
    "enrichment",
    "retained",
]


def default_min_hits(n_positives: int) -> int:
    """The hit floor used when ``--min-hits`` is not given: ``max(10, ceil(0.02 * n_positives))``."""
    return max(10, math.ceil(0.02 * n_positives))


def centre_weights(starts: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """Triangular weights of hits ``[start, end)`` in windows of ``width`` bases, in ``[0, 1]``."""
    centres = (np.asarray(starts, dtype=np.float64) + np.asarray(ends, dtype=np.float64)) / 2
    half = width / 2
    return np.clip(1 - np.abs(centres - half) / half, 0, 1)


def motif_enrichment(
    motifs,
    positive_hits: pd.DataFrame,
    background_hits: pd.DataFrame,
    *,
    n_positives: int,
    n_background: int,
    width: int,
    min_hits: int,
    min_enrichment: float = 1.25,
    max_motifs: int | None = 20,
) -> pd.DataFrame:
    """Score every motif's enrichment in the positives over the background.

    Parameters
    ----------
    motifs : list of Motif
        The scanned motifs; hit tables refer to them by ``motif_index``.
    positive_hits, background_hits : pandas.DataFrame
        Hit tables from :func:`dataset_builder.scan.scan` (columns ``motif_index``, ``start``, ``end``).
    n_positives, n_background : int
        Number of sequences scanned in each set.
    width : int
        Window width of the scanned sequences.
    min_hits : int
        Smallest number of positive hits for a motif to be retained.
    min_enrichment : float, default 1.25
        Smallest enrichment for a motif to be retained.
    max_motifs : int or None, default 20
        Retain at most this many motifs (the most enriched of those that pass); None keeps all.

    Returns
    -------
    pandas.DataFrame
        One row per motif with columns :data:`ENRICHMENT_COLUMNS`, sorted by enrichment (highest first;
        ties by positive hits, then motif id), with the motif's position in ``motifs`` as ``motif_index``.
    """
    n_motifs = len(motifs)

    def tally(hits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        index = hits["motif_index"].to_numpy(dtype=np.int64)
        weights = centre_weights(hits["start"].to_numpy(), hits["end"].to_numpy(), width)
        return np.bincount(index, minlength=n_motifs), np.bincount(index, weights, minlength=n_motifs)

    positive_counts, positive_weights = tally(positive_hits)
    background_counts, background_weights = tally(background_hits)
    positive_density = (positive_weights + 1) / max(n_positives, 1)
    background_density = (background_weights + 1) / max(n_background, 1)
    enrichment = positive_density / background_density
    table = pd.DataFrame(
        {
            "motif_index": np.arange(n_motifs),
            "motif_id": [m.id for m in motifs],
            "motif_name": [m.name for m in motifs],
            "positive_hits": positive_counts.astype(np.int64),
            "background_hits": background_counts.astype(np.int64),
            "positive_density": positive_density,
            "background_density": background_density,
            "enrichment": enrichment,
            "retained": (positive_counts >= min_hits) & (enrichment >= min_enrichment),
        }
    )
    table = table.sort_values(
        ["enrichment", "positive_hits", "motif_id"], ascending=[False, False, True], kind="mergesort"
    ).reset_index(drop=True)
    if max_motifs is not None:
        table["retained"] &= table["retained"].cumsum() <= max_motifs
    return table


def write_enrichment_table(table: pd.DataFrame, path) -> None:
    """Write ``retained_motifs.tsv``: the columns of :data:`ENRICHMENT_COLUMNS`, retained as yes/no, then any
    further columns of ``table`` (e.g. the representative of a collapsed motif) except ``motif_index``."""
    extra = [c for c in table.columns if c not in ENRICHMENT_COLUMNS and c != "motif_index"]
    out = table[ENRICHMENT_COLUMNS + extra].copy()
    out["retained"] = np.where(out["retained"], "yes", "no")
    out.to_csv(path, sep="\t", index=False, float_format="%.6g")
