"""Which motifs are enriched in the positives: the paper's motif filter.

For every motif, hits are weighted towards the window centre (``W`` = window width), by one of three
formulas (:data:`WEIGHTS`, ``regsim build --enrichment-weight``):

- ``authors`` (default): ``(W/2 - |W/2 - start|)^2`` on the hit's start, the formula of the authors'
  code, which produced the published data; divided here by ``(W/2)^2`` so it lies in ``[0, 1]``;
- ``paper``: the inverse square of the distance ``d = |hit centre - W/2|`` from the centre, as the
  paper's text says, ``1 / max(d, 1)^2`` (capped at 1 within a base of the centre);
- ``linear``: the triangle ``1 - |hit centre - W/2| / (W/2)`` (regsim before issue 11).

All three are at most 1, the weight of the pseudo-hit: the weighted hit density of a set is ``(sum of w
+ 1) / number of sequences`` (one full-weight pseudo-hit keeps a motif with no background hit from
reaching an infinite ratio), and the enrichment is the positives' density over the background's. A
motif is retained when it has at least ``min_hits`` (unweighted) hits in the positives and an enrichment
of at least ``min_enrichment``; the paper used 1000 and 1.25 on sets of 96,663-154,628 DNase-seq peaks
(about 1 % of the peaks or less). :func:`default_min_hits` scales the floor with the input instead: 2 %
of the positives, at least 10 (78 on the embedded 3,897 Oct4 peaks).

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


#: The centre-weight formulas, as the dataset card states them.
WEIGHT_FORMULAS = {
    "authors": "`(W/2 - |W/2 - hit start|)^2 / (W/2)^2`, the authors' code",
    "paper": "`1 / max(|hit centre - W/2|, 1)^2`, the paper's text",
    "linear": "`1 - |hit centre - W/2| / (W/2)`",
}
WEIGHTS = tuple(WEIGHT_FORMULAS)


def centre_weights(starts: np.ndarray, ends: np.ndarray, width: int, weight: str = "authors") -> np.ndarray:
    """Centre weights of hits ``[start, end)`` in windows of ``width`` bases, in ``[0, 1]``.

    ``weight`` is one of :data:`WEIGHTS` (see the module docstring).
    """
    starts = np.asarray(starts, dtype=np.float64)
    half = width / 2
    if weight == "authors":
        return np.clip(half - np.abs(half - starts), 0, None) ** 2 / half**2
    centres = (starts + np.asarray(ends, dtype=np.float64)) / 2
    if weight == "paper":
        return 1 / np.maximum(np.abs(centres - half), 1) ** 2
    if weight == "linear":
        return np.clip(1 - np.abs(centres - half) / half, 0, 1)
    raise ValueError(f"unknown enrichment weight {weight!r}; choose from {', '.join(WEIGHTS)}")


def hit_tallies(motif_index, starts, ends, *, width: int, n_motifs: int) -> np.ndarray:
    """Per motif, histograms of its hits' starts (``0..W``) and of ``start + end`` (``0..2W``).

    Every centre weight of :data:`WEIGHTS` is a function of one of the two, so the weighted sums follow
    from the histograms (:func:`tally_weights`); being integer counts, tallies of batches add up exactly,
    in any order: streaming, batched and parallel builds get the same enrichment, for every formula.

    Returns
    -------
    np.ndarray
        ``(n_motifs, 3 W + 2)`` int64: the start histogram (``W + 1`` bins), then the ``start + end`` one.
    """
    index = np.asarray(motif_index, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    n_start, n_sum = width + 1, 2 * width + 1
    start_bins = np.clip(starts, 0, width)
    sum_bins = np.clip(starts + np.asarray(ends, dtype=np.int64), 0, 2 * width)
    return np.concatenate([
        np.bincount(index * n_start + start_bins, minlength=n_motifs * n_start).reshape(n_motifs, n_start),
        np.bincount(index * n_sum + sum_bins, minlength=n_motifs * n_sum).reshape(n_motifs, n_sum),
    ], axis=1).astype(np.int64)


def tally_weights(tally: np.ndarray, width: int, weight: str) -> tuple[np.ndarray, np.ndarray]:
    """Hit counts and summed centre weights (:func:`centre_weights`) per motif, from :func:`hit_tallies`."""
    n_start = width + 1
    start_histogram, sum_histogram = tally[:, :n_start], tally[:, n_start:]
    if weight == "authors":  # a function of the start alone
        bins = np.arange(n_start)
        return start_histogram.sum(axis=1), start_histogram @ centre_weights(bins, bins, width, weight)
    sums = np.arange(2 * width + 1)  # start + end: the centre is (0 + sums) / 2
    return start_histogram.sum(axis=1), sum_histogram @ centre_weights(np.zeros_like(sums), sums, width, weight)


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
    weight: str = "authors",
) -> pd.DataFrame:
    """Score every motif's enrichment in the positives over the background.

    Parameters
    ----------
    motifs : list of Motif
        The scanned motifs; hit tables refer to them by ``motif_index``.
    positive_hits, background_hits : pandas.DataFrame, or (n_motifs, 3 W + 2) int64 arrays
        Hit tables from :func:`dataset_builder.scan.scan` (columns ``motif_index``, ``start``, ``end``),
        or their :func:`hit_tallies` (what a streaming build adds up batch by batch).
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
    weight : {"authors", "paper", "linear"}, default "authors"
        The centre-weight formula (:func:`centre_weights`).

    Returns
    -------
    pandas.DataFrame
        One row per motif with columns :data:`ENRICHMENT_COLUMNS`, sorted by enrichment (highest first;
        ties by positive hits, then motif id), with the motif's position in ``motifs`` as ``motif_index``.
    """
    n_motifs = len(motifs)

    def tally(hits) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(hits, pd.DataFrame):
            hits = hit_tallies(hits["motif_index"], hits["start"], hits["end"], width=width, n_motifs=n_motifs)
        return tally_weights(hits, width, weight)

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


def compare_weights(motifs, positive_hits, background_hits, *, weight: str,
                    **kwargs) -> list[dict]:
    """How the retained set changes under each other centre-weight formula.

    ``kwargs`` are :func:`motif_enrichment`'s. Returns one dict per formula of :data:`WEIGHTS` other than
    ``weight``: ``weight``, ``n_retained``, ``added`` and ``removed`` (motif names, in the other
    formula's set and not in ``weight``'s, and the reverse; sorted by motif id).
    """
    def retained(formula):
        table = motif_enrichment(motifs, positive_hits, background_hits, weight=formula, **kwargs)
        return dict(sorted(zip(table.loc[table["retained"], "motif_id"], table.loc[table["retained"], "motif_name"])))

    chosen = retained(weight)
    out = []
    for other in WEIGHTS:
        if other == weight:
            continue
        theirs = retained(other)
        out.append({"weight": other, "n_retained": len(theirs),
                    "added": [f"{theirs[k]} ({k})" for k in theirs if k not in chosen],
                    "removed": [f"{chosen[k]} ({k})" for k in chosen if k not in theirs]})
    return out


def describe_weight_comparison(weight: str, comparison: list[dict]) -> str:
    """One sentence per other formula: which motifs it would retain instead."""
    parts = []
    for c in comparison:
        if not c["added"] and not c["removed"]:
            parts.append(f"`--enrichment-weight {c['weight']}` retains the same {c['n_retained']} motifs")
        else:
            parts.append(f"`--enrichment-weight {c['weight']}` retains {c['n_retained']}: "
                         f"{len(c['added'])} others ({', '.join(c['added']) or 'none'}) instead of "
                         f"{', '.join(c['removed']) or 'none'}")
    return f"Compared with `{weight}`: " + "; ".join(parts) + "."


def write_enrichment_table(table: pd.DataFrame, path) -> None:
    """Write ``retained_motifs.tsv``: the columns of :data:`ENRICHMENT_COLUMNS`, retained as yes/no, then any
    further columns of ``table`` (e.g. the representative of a collapsed motif) except ``motif_index``."""
    extra = [c for c in table.columns if c not in ENRICHMENT_COLUMNS and c != "motif_index"]
    out = table[ENRICHMENT_COLUMNS + extra].copy()
    out["retained"] = np.where(out["retained"], "yes", "no")
    out.to_csv(path, sep="\t", index=False, float_format="%.6g")
