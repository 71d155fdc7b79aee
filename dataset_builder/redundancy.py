"""Collapse redundant motifs: one representative per cluster of TOMTOM-similar motifs.

A full JASPAR scan passes hundreds of motifs through the enrichment filter, most of them near copies
of a few binding preferences (the Oct4-Sox2 composite, POU, SOX, ZIC, ... families). Instead of
keeping the N most enriched (``--max-motifs``), :func:`collapse_redundant` keeps one motif per
cluster of similar motifs:

1. every motif that passes the filter is compared with every scanned motif (the database) by TOMTOM
   (memelite's ``tomtom``: complete scores, both strands); each query's p-values are turned into
   q-values over the database with Benjamini-Hochberg, as MEME's ``tomtom`` does;
2. two passing motifs are *similar* when either one matches the other at ``q < q_threshold``
   (default 0.05);
3. going down the passing motifs from the most enriched, a motif similar to a representative already
   kept joins the cluster of the most enriched such representative; otherwise it becomes a new
   representative.

So no two representatives are similar (each new one matched none of those before it), and each
cluster is represented by its most enriched member. The other members stay in ``retained_motifs.tsv``
with ``retained = no`` and their representative in the ``representative`` column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: TOMTOM q-value below which two motifs count as the same binding preference.
DEFAULT_Q_THRESHOLD = 0.05


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis of ``p_values`` (each row its own family).

    Parameters
    ----------
    p_values : np.ndarray
        ``(..., m)`` p-values.

    Returns
    -------
    np.ndarray
        Same shape, float64: ``min over j >= rank of p_(j) * m / j``, clipped to 1.
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), axis=-1)
    return q


def tomtom_q_values(queries, targets, *, n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """TOMTOM p-values and per-query q-values of every query motif against every target motif.

    Parameters
    ----------
    queries, targets : list of Motif
        Motifs (their ``(4, w)`` letter-probability matrices are compared).
    n_jobs : int, default 1
        memelite threads.

    Returns
    -------
    (np.ndarray, np.ndarray)
        ``(len(queries), len(targets))`` p-values and Benjamini-Hochberg q-values (over each row).
    """
    from memelite import tomtom

    p_values = np.asarray(
        tomtom([np.asarray(m.probabilities) for m in queries], [np.asarray(m.probabilities) for m in targets],
               n_jobs=n_jobs)[0],
        dtype=np.float64,
    )
    return p_values, benjamini_hochberg(p_values)


def collapse_redundant(motifs, enrichment: pd.DataFrame, *, q_threshold: float = DEFAULT_Q_THRESHOLD,
                       max_motifs: int | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Keep the most enriched motif of each cluster of TOMTOM-similar motifs.

    Parameters
    ----------
    motifs : list of Motif
        Every scanned motif (the TOMTOM database); ``enrichment["motif_index"]`` refers to it.
    enrichment : pandas.DataFrame
        :func:`dataset_builder.enrichment.motif_enrichment` output, sorted by enrichment, with
        ``retained`` true for the motifs that pass the filter (no ``max_motifs`` cap).
    q_threshold : float, default 0.05
        Two motifs are similar when either matches the other at a TOMTOM q-value below this.
    max_motifs : int or None, default None
        Keep at most this many representatives (the most enriched); None keeps all.
    n_jobs : int, default 1
        memelite threads.

    Returns
    -------
    pandas.DataFrame
        ``enrichment`` with ``retained`` true for the representatives only, and two new columns:
        ``representative`` (the motif id of the cluster's representative, for every passing motif,
        itself for a representative; empty for motifs that fail the filter) and
        ``representative_q`` (the smaller of the two TOMTOM q-values between a member and its
        representative; NaN for representatives and failing motifs).
    """
    table = enrichment.copy()
    passing = np.flatnonzero(table["retained"].to_numpy())
    table["representative"] = ""
    table["representative_q"] = np.nan
    if len(passing) == 0:
        return table
    motif_index = table["motif_index"].to_numpy()[passing]
    _, q = tomtom_q_values([motifs[i] for i in motif_index], motifs, n_jobs=n_jobs)
    q_among = q[:, motif_index]
    similar_q = np.minimum(q_among, q_among.T)  # either direction
    representatives: list[int] = []  # positions in `passing`, most enriched first
    retained = np.zeros(len(table), dtype=bool)
    rep_ids = table["representative"].to_numpy(dtype=object).copy()
    rep_q = table["representative_q"].to_numpy(dtype=np.float64).copy()
    ids = table["motif_id"].to_numpy(dtype=object)
    for k, row in enumerate(passing):
        matched = [r for r in representatives if similar_q[k, r] < q_threshold]
        if matched:
            r = matched[0]  # the most enriched similar representative
            rep_ids[row], rep_q[row] = ids[passing[r]], similar_q[k, r]
        else:
            representatives.append(k)
            retained[row] = True
            rep_ids[row] = ids[row]
    if max_motifs is not None:
        retained &= np.cumsum(retained) <= max_motifs
    table["retained"] = retained
    table["representative"] = rep_ids
    table["representative_q"] = rep_q
    return table


def best_matches(queries, database, *, n_jobs: int = 1) -> pd.DataFrame:
    """Each query's best TOMTOM match in a motif database (smallest p-value; ties: database order).

    Parameters
    ----------
    queries, database : list of Motif

    Returns
    -------
    pandas.DataFrame
        One row per query: ``motif_id``, ``best_match_id``, ``best_match_name``, ``best_match_p`` and
        ``best_match_q`` (Benjamini-Hochberg over the database, per query).
    """
    p, q = tomtom_q_values(queries, database, n_jobs=n_jobs)
    best = np.argmin(p, axis=1)
    rows = np.arange(len(queries))
    return pd.DataFrame({
        "motif_id": [m.id for m in queries],
        "best_match_id": [database[j].id for j in best],
        "best_match_name": [database[j].name for j in best],
        "best_match_p": p[rows, best],
        "best_match_q": q[rows, best],
    })
