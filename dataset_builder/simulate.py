"""The paper's realistic simulation, and the ground-truth annotation shared by both modes.

* A simulated **positive** is a real positive, dinucleotide-shuffled, with every retained-motif hit of
  that real sequence pasted back at its original coordinates with its original bases. Real positives
  without a retained hit are dropped (counted as ``positives_without_retained_motif``).
* A simulated **negative** is a randomly chosen real positive of the same split, dinucleotide-shuffled,
  with the retained-motif hits of one real background sequence pasted in at their original coordinates.
  Every background sequence gives one negative (those without a hit carry no motif).
* **Ground truth** (:func:`annotate_instances`): the implanted instances plus a re-scan of every
  simulated sequence with the retained motifs; chance matches in the shuffled backbone are kept with
  ``implanted = False``. The per-base mask is the union of all instances.

Each shuffle and each choice of backbone draws from its own stream keyed on the build seed and the
record's index (:mod:`dataset_builder.seeding`), so the output does not depend on batch sizes or
process counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .dinucleotide_shuffle import dinucleotide_shuffle
from .core.errors import UserError
from .inputs import Regions
from .core.sequences import encode_integers
from .scan import scan
from .core.seeding import generator, stream_seeds

INSTANCE_COLUMNS = ["motif_id", "motif_name", "start", "end", "strand", "score", "p_value", "implanted"]


@dataclass
class SimulatedSet:
    """Simulated sequences before annotation.

    Attributes
    ----------
    codes : np.ndarray
        ``(M, L)`` uint8 integer codes of the simulated sequences.
    labels : np.ndarray
        ``(M,)`` int64, 1 for positives and 0 for negatives.
    ids, sources, backbones : list of str
        Record id, the real region whose motif instances it carries, and the real positive whose
        shuffle forms its backbone.
    splits : np.ndarray
        ``(M,)`` split names.
    implanted : pandas.DataFrame
        Implanted instances: ``sequence_index`` (row in ``codes``) and :data:`INSTANCE_COLUMNS` but
        ``implanted``.
    dropped : Counter
        Records left out, by reason.
    """

    codes: np.ndarray
    labels: np.ndarray
    ids: list[str]
    sources: list[str]
    backbones: list[str]
    splits: np.ndarray
    implanted: pd.DataFrame
    dropped: Counter = field(default_factory=Counter)


def interval_mask(rows, starts, ends, shape) -> np.ndarray:
    """Boolean ``shape`` mask, True inside every ``[start, end)`` of row ``rows[i]``."""
    n, length = shape
    diff = np.zeros((n, length + 1), dtype=np.int32)
    np.add.at(diff, (np.asarray(rows, dtype=np.int64), np.asarray(starts, dtype=np.int64)), 1)
    np.add.at(diff, (np.asarray(rows, dtype=np.int64), np.asarray(ends, dtype=np.int64)), -1)
    return np.cumsum(diff[:, :length], axis=1) > 0


def simulate_positives(codes: np.ndarray, index: np.ndarray, hits: pd.DataFrame, *, random_state: int):
    """Simulate the positives of one batch: shuffle each real positive, paste its own hits back.

    Parameters
    ----------
    codes : np.ndarray
        ``(n, L)`` uint8 real positives.
    index : np.ndarray
        ``(n,)`` their indices among all positives (they key the shuffles' random streams).
    hits : pandas.DataFrame
        Their retained-motif hits, ``sequence_index`` in ``0..n-1``.
    random_state : int
        Build seed.

    Returns
    -------
    kept : np.ndarray
        Rows of ``codes`` with at least one hit (the others are dropped).
    simulated : np.ndarray
        ``(len(kept), L)`` uint8.
    implanted : pandas.DataFrame
        ``hits`` with ``sequence_index`` renumbered to rows of ``simulated``.
    """
    with_hit = np.zeros(len(codes), dtype=bool)
    with_hit[hits["sequence_index"].to_numpy(dtype=np.int64)] = True
    kept = np.flatnonzero(with_hit)
    shuffled = dinucleotide_shuffle(
        codes[kept], 1, seeds=stream_seeds(random_state, "shuffle-positive", np.asarray(index)[kept])
    )[:, 0]
    new_row = np.full(len(codes), -1, dtype=np.int64)
    new_row[kept] = np.arange(len(kept))
    rows = new_row[hits["sequence_index"].to_numpy(dtype=np.int64)]
    paste = interval_mask(rows, hits["start"], hits["end"], shuffled.shape)
    simulated = np.where(paste, codes[kept], shuffled).astype(np.uint8)
    return kept, simulated, hits.assign(sequence_index=rows)


def simulate_negatives(backbones: np.ndarray, codes: np.ndarray, index: np.ndarray, hits: pd.DataFrame, *,
                       random_state: int):
    """Simulate the negatives of one batch: shuffle each one's backbone positive, paste the background's hits.

    Parameters
    ----------
    backbones : np.ndarray
        ``(n, L)`` uint8 real positives chosen as backbones (:func:`choose_backbones`).
    codes : np.ndarray
        ``(n, L)`` uint8 real background sequences.
    index : np.ndarray
        ``(n,)`` their indices among all background records (they key the shuffles' random streams).
    hits : pandas.DataFrame
        The background sequences' retained-motif hits, ``sequence_index`` in ``0..n-1``.
    random_state : int

    Returns
    -------
    np.ndarray
        ``(n, L)`` uint8 simulated negatives (the hits are implanted at their own rows).
    """
    shuffled = dinucleotide_shuffle(backbones, 1, seeds=stream_seeds(random_state, "shuffle-negative", index))[:, 0]
    paste = interval_mask(hits["sequence_index"].to_numpy(dtype=np.int64), hits["start"], hits["end"], shuffled.shape)
    return np.where(paste, codes, shuffled).astype(np.uint8)


def simulate_realistic(
    positives: Regions,
    background: Regions,
    positive_hits: pd.DataFrame,
    background_hits: pd.DataFrame,
    *,
    positive_splits: np.ndarray,
    background_splits: np.ndarray,
    random_state: int,
) -> SimulatedSet:
    """Simulate positives and negatives from real regions and their retained-motif hits, all at once.

    ``regsim build`` runs the same two steps batch by batch (:func:`simulate_positives`,
    :func:`simulate_negatives`); this whole-set form is for small inputs and tests.

    Parameters
    ----------
    positives, background : Regions
        Real sequences, all of one width ``L``.
    positive_hits, background_hits : pandas.DataFrame
        Hits of the retained motifs only (from :func:`dataset_builder.scan.scan`), with
        ``sequence_index`` into ``positives`` / ``background``.
    positive_splits, background_splits : np.ndarray
        Split name of every real record.
    random_state : int
        Build seed.

    Returns
    -------
    SimulatedSet
        Positives first (in input order), then negatives (in background order).
    """
    dropped = Counter()
    positive_codes = encode_integers(positives.sequences)
    background_codes = encode_integers(background.sequences)
    kept_positives, simulated_positives, positive_implanted = simulate_positives(
        positive_codes, np.arange(len(positives)), positive_hits, random_state=random_state)
    dropped["positives_without_retained_motif"] = len(positives) - len(kept_positives)

    partners = choose_backbones(positive_splits, background_splits, random_state)
    simulated_negatives = simulate_negatives(positive_codes[partners], background_codes, np.arange(len(background)),
                                             background_hits, random_state=random_state)
    bg_rows = background_hits["sequence_index"].to_numpy(dtype=np.int64)
    negative_implanted = background_hits.assign(sequence_index=bg_rows + len(kept_positives))

    implanted = pd.concat([positive_implanted, negative_implanted], ignore_index=True)
    return SimulatedSet(
        codes=np.concatenate([simulated_positives, simulated_negatives]).astype(np.uint8),
        labels=np.concatenate([np.ones(len(kept_positives)), np.zeros(len(background))]).astype(np.int64),
        ids=[f"pos-{i:06d}" for i in kept_positives] + [f"neg-{i:06d}" for i in range(len(background))],
        sources=[positives.sources[i] for i in kept_positives] + list(background.sources),
        backbones=[positives.sources[i] for i in kept_positives] + [positives.sources[p] for p in partners],
        splits=np.concatenate([positive_splits[kept_positives], background_splits]),
        implanted=implanted[["sequence_index", *INSTANCE_COLUMNS[:-1]]],
        dropped=dropped,
    )


def choose_backbones(positive_splits, background_splits, random_state) -> np.ndarray:
    """For every background record, a uniformly chosen real positive of the same split."""
    partners = np.empty(len(background_splits), dtype=np.int64)
    for split in np.unique(background_splits):
        members = np.flatnonzero(background_splits == split)
        candidates = np.flatnonzero(positive_splits == split)
        if len(candidates) == 0:
            raise UserError(
                f"the {split} split has {len(members)} background records but no positive to shuffle "
                "for their backbones; change the split settings"
            )
        rng = generator(random_state, f"backbone-{split}")
        partners[members] = candidates[rng.integers(0, len(candidates), size=len(members))]
    return partners


def annotate_instances(
    codes: np.ndarray, motifs, implanted: pd.DataFrame, *, threshold: float, n_threads: int | None = None,
    verbose: bool = False
) -> tuple[list[list[dict]], np.ndarray, pd.DataFrame]:
    """Ground truth of simulated sequences: implanted instances plus chance matches.

    Parameters
    ----------
    codes : np.ndarray
        ``(M, L)`` uint8 simulated sequences.
    motifs : list of Motif, or scan.PreparedMotifs
        The motifs to re-scan with (the retained ones).
    implanted : pandas.DataFrame
        Implanted instances (``sequence_index`` plus :data:`INSTANCE_COLUMNS` but ``implanted``).
    threshold : float
        Re-scan p-value threshold.
    n_threads : int, optional
        Scan threads (default: numba's).

    Returns
    -------
    instances : list of list of dict
        Per sequence, its instances as dicts with :data:`INSTANCE_COLUMNS`, sorted by start, end,
        motif id and strand.
    mask : np.ndarray
        ``(M, L)`` int8, 1 inside any instance.
    table : pandas.DataFrame
        All instances as one table (``sequence_index`` plus :data:`INSTANCE_COLUMNS`).
    """
    table, mask = instance_table(codes, motifs, implanted, threshold=threshold, n_threads=n_threads, verbose=verbose)
    instances: list[list[dict]] = [[] for _ in range(len(codes))]
    records = table[INSTANCE_COLUMNS].to_dict("records")
    for row, record in zip(table["sequence_index"].to_numpy(), records):
        instances[row].append(record)
    return instances, mask, table


def instance_table(codes: np.ndarray, motifs, implanted: pd.DataFrame, *, threshold: float,
                   n_threads: int | None = None, verbose: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`annotate_instances`' ``table`` and ``mask`` without the per-sequence lists (what a build writes)."""
    rescan = scan(motifs, codes, threshold=threshold, n_threads=n_threads, verbose=verbose)
    columns = ["sequence_index", *INSTANCE_COLUMNS[:-1]]
    table = pd.concat(
        [implanted[columns].assign(implanted=True), rescan[columns].assign(implanted=False)], ignore_index=True
    )
    # A re-scan hit at an implanted instance's place is that instance, found again.
    table = table.drop_duplicates(["sequence_index", "motif_id", "start", "end", "strand"], keep="first")
    table = table.sort_values(["sequence_index", "start", "end", "motif_id", "strand"], kind="mergesort")
    table = table.reset_index(drop=True)
    table = table.astype({"start": np.int64, "end": np.int64, "score": np.float64, "p_value": np.float64})
    mask = interval_mask(table["sequence_index"], table["start"], table["end"], codes.shape).astype(np.int8)
    return table, mask
