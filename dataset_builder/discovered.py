"""Motifs found in the data rather than read from a database, as :func:`build_dataset` takes them.

Discovering motifs needs a trained model and its attributions, which live in :mod:`regsim.models`, a
layer above the dataset builder. So the builder does not discover anything itself: ``build_dataset``
takes a ``discover`` callable, ``discover(positives, background, *, random_state, verbose)``, that gets
the real positive and background :class:`~regsim.dataset_builder.inputs.Regions` and returns a
:class:`DiscoveredMotifs`. The ``regsim`` command (the top of the stack) passes
:func:`regsim.models.denovo.discover_motifs` for ``--motifs denovo``; a Python caller can pass any
function that returns this record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: The ``--motifs`` value that asks for de novo discovery.
DENOVO = "denovo"


@dataclass
class DiscoveredMotifs:
    """Discovered motifs and how they were found.

    Attributes
    ----------
    motifs : list of Motif
        The discovered motifs; they are scanned and filtered like database motifs.
    matches : pandas.DataFrame
        One row per motif, keyed by ``motif_id``; its other columns (e.g. the best database match and its
        q-value) are appended to ``retained_motifs.tsv``.
    settings : dict
        Every setting of the discovery and the seed (recorded in the card and the manifest).
    description : str
        Markdown paragraph for the card: how the motifs were found.
    summary : dict
        Figures of the run (e.g. the model's auROC, patterns found and dropped), recorded in the manifest.
    """

    motifs: list
    matches: pd.DataFrame
    settings: dict = field(default_factory=dict)
    description: str = ""
    summary: dict = field(default_factory=dict)
