"""Build realistic simulated regulatory-genomics datasets with per-base ground truth.

Real peaks are dinucleotide-shuffled and their real motif instances (from a FIMO-equivalent scan of
enriched motifs) are pasted back at their original places; negatives are shuffled positives carrying
the motif instances of real background regions. See ``regsim build --help`` and
:func:`regsim.dataset_builder.build.build_dataset`. The dataset format lives in :mod:`.format`; the
foundation every layer shares in :mod:`.core`.
"""
