"""A tiny regsim-format dataset folder with a learnable signal, for tests that train models.

Written through :mod:`regsim.dataset_builder.format`, like ``regsim build``: ``README.md`` with YAML
``configs``, ``<config>/<split>-00000-of-00001.parquet`` for train/validation/test and
``build_manifest.json`` with ``dataset_version`` and the sha256 of every file.

Positives carry one copy of :data:`PLANTED` (either strand) within 5 bp of the centre; negatives are
uniform random sequences (a chance occurrence of the 8-mer is recorded as not implanted).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from regsim.dataset_builder.format import CARD, FEATURES, config_entry, write_manifest, write_split

PLANTED = "ATGCAAAT"  # the Oct4 octamer
SPLITS = {"train": 0.6, "validation": 0.2, "test": 0.2}


def write_tiny_dataset(
    path, *, n_per_class: int = 60, length: int = 50, config: str = "tiny", seed: int = 0, version: str = "0.0.1"
) -> Path:
    """Write a tiny dataset folder and return its path.

    Parameters
    ----------
    path : str or Path
        Folder to create (must not exist, or be empty).
    n_per_class : int, default 60
        Sequences per class, split 60/20/20 into train/validation/test within each class.
    length : int, default 50
        Sequence length ``L``.
    config : str, default "tiny"
        Config name (sub-folder of the parquet shards).
    seed : int, default 0
    version : str, default "0.0.1"
        ``dataset_version`` written to ``build_manifest.json``.
    """
    path = Path(path)
    (path / config).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    records = {name: [] for name in SPLITS}
    for label in (0, 1):
        order = rng.permutation(n_per_class)
        bounds = np.cumsum([round(f * n_per_class) for f in SPLITS.values()])
        for i in range(n_per_class):
            split = list(SPLITS)[int(np.searchsorted(bounds, order[i], side="right"))]
            records[split].append(_example(rng, label, len(records[split]), length, split))
    for split, rows in records.items():
        rows.sort(key=lambda r: r["id"])
    for split, rows in records.items():
        write_split(path, config, split, {name: [row[name] for row in rows] for name in FEATURES})
    card = yaml.safe_dump({"configs": [config_entry(config)], "pretty_name": "tiny test data"}, sort_keys=False)
    (path / CARD).write_text(f"---\n{card}---\n# tiny\n\nPositives carry {PLANTED}.\n")
    write_manifest(path, {"dataset_name": path.name, "dataset_version": version, "config_name": config, "seed": seed})
    return path


def _example(rng, label, index, length, split):
    codes = rng.integers(0, 4, size=length)
    sequence = "".join("ACGT"[c] for c in codes)
    motifs = []
    if label == 1:
        # near the centre, as motifs in real peaks
        centre = (length - len(PLANTED)) // 2
        start = int(rng.integers(max(0, centre - 5), min(length - len(PLANTED), centre + 5) + 1))
        strand = "+" if rng.random() < 0.5 else "-"
        site = PLANTED if strand == "+" else _reverse_complement(PLANTED)
        sequence = sequence[:start] + site + sequence[start + len(PLANTED) :]
        motifs.append(_motif(start, strand, True))
    for strand, site in (("+", PLANTED), ("-", _reverse_complement(PLANTED))):
        start = sequence.find(site)
        while start >= 0:
            if not any(m["start"] == start and m["strand"] == strand for m in motifs):
                motifs.append(_motif(start, strand, False))
            start = sequence.find(site, start + 1)
    mask = [0] * length
    for motif in motifs:
        mask[motif["start"] : motif["end"]] = [1] * len(PLANTED)
    name = "positive" if label else "negative"
    return {
        "id": f"{split}-{name}-{index:04d}",
        "sequence": sequence,
        "label": label,
        "motifs": sorted(motifs, key=lambda m: (m["start"], m["strand"])),
        "motif_mask": mask,
        "source": f"tiny:{name}:{index}",
        "backbone": f"tiny:{name}:{index}",
    }


def _motif(start, strand, implanted):
    return {
        "motif_id": "TINY.1",
        "motif_name": "octamer",
        "start": start,
        "end": start + len(PLANTED),
        "strand": strand,
        "score": 10.0,
        "p_value": 4.0 ** -len(PLANTED),
        "implanted": implanted,
    }


def _reverse_complement(sequence):
    return sequence[::-1].translate(str.maketrans("ACGT", "TGCA"))
