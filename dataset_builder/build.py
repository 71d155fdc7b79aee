"""Build a dataset folder end to end: the ``regsim build`` verb.

Realistic mode: read the real regions, scan every motif, keep the enriched ones, assign splits,
simulate, annotate, write. Simple mode: sample the simdna-style preset and annotate it the same way.
The folder is assembled beside its destination and moved into place whole at the end
(:func:`~regsim.dataset_builder.core.io.replace_folder`), so a failed build never leaves a half-written
dataset and ``--force`` replaces only a dataset folder.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import os
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .core import __version__
from .dataset_card import (
    REALISTIC_METHOD,
    SIMPLE_METHOD,
    citations,
    column_rows,
    instance_statistics,
    motif_occupancy,
    plot_motif_statistics,
    render_dataset_card,
    split_counts,
    yaml_header,
)
from . import _stream
from .enrichment import (
    WEIGHT_FORMULAS,
    compare_weights,
    default_min_hits,
    describe_weight_comparison,
    motif_enrichment,
    write_enrichment_table,
)
from .discovered import DENOVO
from .redundancy import DEFAULT_Q_THRESHOLD, collapse_redundant
from .truth_summary import COLLAPSE_SENTENCE, coverage_sentence, enrichment_notes, note_header, truth_coverage
from .core.errors import UserError
from .core.io import replace_folder, sha256
from .format import SPLIT_ORDER, SplitWriter, dataset_info, is_dataset_folder, write_manifest
from .inputs import Regions, gc_matched_subsample, read_peak_windows, read_sequence_sets
from .motifs import is_jaspar_spec, load_motifs, parse_jaspar_spec, write_meme
from .core.sequences import encode_integers
from .pvalues import scaled_pssm
from .scan import prepare_motifs
from .simple import SIMPLE_PRESET, SIMPLE_PRESET_MOTIFS, simulate_simple
from .simulate import choose_backbones
from .splits import chromosome_splits, random_splits
from .core.log import StageLog, progress

DEFAULT_MOTIFS = "jaspar:JASPAR2024:CORE:vertebrates"
EMBEDDED = files("regsim.dataset_builder").joinpath("data", "oct4_mafk")
EMBEDDED_POSITIVES = "oct4_peaks_200bp.fa.gz"
EMBEDDED_NEGATIVES = "mafk_peaks_200bp.fa.gz"


def embedded_head(name: str, target: str | Path, n: int) -> Path:
    """Write the first ``n`` records of the embedded FASTA ``name`` (e.g. :data:`EMBEDDED_POSITIVES`) to
    ``target``: a small input for smoke runs and tests."""
    with gzip.open(EMBEDDED.joinpath(name), "rt") as handle:
        lines = handle.read().splitlines()[: 2 * n]
    Path(target).write_text("\n".join(lines) + "\n")
    return Path(target)
#: Real records per batch of the streaming build: memory grows with it, the output never depends on it.
DEFAULT_BATCH_SIZE = 2_000


def default_num_proc() -> int:
    """The CPUs this process may use (``--num-proc``'s default)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


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
    enrichment_weight: str = "authors"
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
                  num_proc: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE, verbose: bool = True) -> BuildResult:
    """Build a dataset folder, streaming: memory is bounded by a few batches, not by the dataset.

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
    num_proc : int, optional
        Worker processes, one CPU each (default: every CPU this process may use). The output is
        byte-identical for every value.
    batch_size : int, default 2000
        Real records per batch (peak memory grows with it; the output does not change).
    verbose : bool, default True
        Print stage progress and progress bars.

    Returns
    -------
    BuildResult
    """
    started = time.perf_counter()
    out = Path(out)
    settings = _resolve_defaults(settings)
    num_proc = default_num_proc() if num_proc is None else int(num_proc)
    if num_proc < 1:
        raise UserError(f"--num-proc must be a positive integer, got {num_proc}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be a positive integer, got {batch_size}")
    log = StageLog(verbose)
    run = _Run(num_proc, int(batch_size))
    with replace_folder(out, force=force, is_ours=is_dataset_folder, kind="dataset") as staging:
        if settings.mode == "realistic":
            record = _build_realistic(settings, staging, log, run, discover)
        else:
            record = _build_simple(settings, staging, log, run)
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


@dataclass
class _Run:
    """How a build runs (not what it builds: the output is the same for every value)."""

    num_proc: int
    batch_size: int

    #: Scan and shuffle threads per process: ``--num-proc N`` uses N CPUs, one per process.
    threads: int = 1


def _read_real(s: BuildSettings, log: StageLog) -> dict:
    """Read the real regions in a child process and keep them compactly: 2-bit codes, Arrow sources.

    The readers hold every record as a Python string; read here, those strings would leave the build's
    memory high for the rest of the run (freed, but not handed back), so the child reads them and dies.
    """
    import concurrent.futures
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        return pool.submit(_read_compact, s, log).result()


def _read_compact(s: BuildSettings, log: StageLog) -> dict:
    positives, background, inputs = _read_inputs(s, log)
    return {
        "width": positives.width,
        "inputs": inputs,
        "splits": _assign_splits(s, positives, background),
        # Held whole, compactly: the real sequences at 2 bits a base (negatives draw backbones from any positive).
        "codes": (_packed(positives.sequences), _packed(background.sequences)),
        "sources": (pa.array(positives.sources, pa.string()), pa.array(background.sources, pa.string())),
        "dropped": (positives.dropped, background.dropped),
    }


def _packed(sequences: list[str], step: int = 10_000) -> np.ndarray:
    """2-bit codes of equal-length ACGT strings, encoded a chunk at a time (never all as bytes at once)."""
    return np.concatenate([_stream.pack(encode_integers(sequences[i : i + step])) for i in range(0, len(sequences), step)])


def _ranges(n: int, batch_size: int) -> list[tuple[int, int]]:
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def _discover(s: BuildSettings, log: StageLog, discover):
    """De novo motifs: the real regions are read here, in the parent, only for the discovery (the build
    itself then streams them like any other run)."""
    if discover is None:
        raise UserError("--motifs denovo needs the models layer: run `regsim build`, or pass "
                        "discover=regsim.models.denovo.discover_motifs to build_dataset")
    positives, background, _ = _read_inputs(s, log)
    return discover(positives, background, random_state=s.seed, verbose=log.verbose)


def _build_realistic(s: BuildSettings, folder: Path, log: StageLog, run: _Run, discover=None) -> dict:
    num_proc, threads, batch_size = run.num_proc, run.threads, run.batch_size
    discovery = _discover(s, log, discover) if s.motifs == DENOVO else None
    real = _read_real(s, log)
    width, inputs = real["width"], real["inputs"]
    positive_splits, background_splits = real["splits"]
    positive_codes, background_codes = real["codes"]
    positive_sources, background_sources = real["sources"]
    n_positives, n_background = len(positive_codes), len(background_codes)
    if discovery is not None:
        motifs = discovery.motifs
        inputs.append({"role": "motifs", "name": f"de novo ({len(motifs)} motifs)", "records": len(motifs),
                       "sha256": ""})
    else:
        log(f"loading motifs: {s.motifs}")
        motifs = load_motifs(s.motifs)
        inputs.append(_motif_source(s.motifs, motifs))
    log(f"scanning {len(motifs)} motifs over {n_positives} positives and {n_background} background "
        f"sequences of {width} bp (p < {s.threshold:g}; {num_proc} process{'es' if num_proc > 1 else ''}, "
        f"batches of {batch_size})")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ready = prepare_motifs(motifs, threshold=s.threshold)
    for warning in caught:
        log(f"note: {warning.message}")
    units = [("positive", a, b) for a, b in _ranges(n_positives, batch_size)]
    units += [("background", a, b) for a, b in _ranges(n_background, batch_size)]
    tallies = {"positive": np.zeros((len(motifs), 3 * width + 2), dtype=np.int64),
               "background": np.zeros((len(motifs), 3 * width + 2), dtype=np.int64)}
    shared = {"prepared": ready, "width": width, "positive_codes": positive_codes, "background_codes": background_codes}
    with progress(total=n_positives + n_background, desc="Scanning motifs", unit="seq", verbose=log.verbose) as bar:
        for (kind, a, b), tally in zip(units, _stream.run_ordered(_stream.tally_batch, units, shared,
                                                                  num_proc=num_proc, n_threads=threads)):
            tallies[kind] += tally
            bar.update(b - a)
    positive_tally, background_tally = tallies["positive"], tallies["background"]

    min_hits = s.min_hits if s.min_hits is not None else default_min_hits(n_positives)
    enrichment = motif_enrichment(
        motifs, positive_tally, background_tally, n_positives=n_positives, n_background=n_background,
        width=width, min_hits=min_hits, min_enrichment=s.min_enrichment,
        max_motifs=None if s.collapse_redundant else s.max_motifs, weight=s.enrichment_weight,
    )
    weight_comparison = compare_weights(
        motifs, positive_tally, background_tally, n_positives=n_positives, n_background=n_background,
        width=width, min_hits=min_hits, min_enrichment=s.min_enrichment, max_motifs=s.max_motifs,
        weight=s.enrichment_weight,
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

    partners = choose_backbones(positive_splits, background_splits, s.seed)
    if discovery is not None:
        enrichment = enrichment.merge(discovery.matches, on="motif_id", how="left")
    write_enrichment_table(enrichment, folder / "retained_motifs.tsv")
    log("simulating, re-scanning and writing: dinucleotide shuffles with the real motif instances pasted back")
    shared = {
        "prepared": prepare_motifs(retained_motifs, threshold=s.threshold), "seed": s.seed, "threshold": s.threshold,
        "width": width,
        "positive_codes": positive_codes, "background_codes": background_codes, "partners": partners,
        "positive_sources": positive_sources, "background_sources": background_sources,
        "positive_splits": positive_splits, "background_splits": background_splits,
    }
    units = [("positive", a, b) for a, b in _ranges(n_positives, batch_size)]
    units += [("negative", a, b) for a, b in _ranges(n_background, batch_size)]
    records = {split: int((positive_splits == split).sum() + (background_splits == split).sum()) for split in SPLIT_ORDER}
    record = _write_batches(s, folder, log, run, units, shared, retained_motifs, width, records)
    simulation = Counter({"positives_without_retained_motif": record.pop("dropped_positives")})
    record.update(
        discovery=discovery,
        inputs=inputs,
        dropped=_dropped_rows(*real["dropped"], simulation),
        enrichment=enrichment,
        n_motifs_scanned=len(motifs),
        min_hits=min_hits,
        provenance=_embedded_provenance() if s.embedded else "",
        parameters_extra={"min_hits (resolved)": min_hits}
        | ({f"denovo {k}": v for k, v in discovery.settings.items()} if discovery else {}),
        weight_comparison=weight_comparison,
    )
    return record


def _build_simple(s: BuildSettings, folder: Path, log: StageLog, run: _Run) -> dict:
    log(f"loading motifs: {s.motifs}")
    motifs = load_motifs(s.motifs)
    log(f"sampling {2 * s.n_per_class} sequences of {s.width} bp (GC {s.gc:g}) with "
              + ", ".join(f"{m.name} ({m.id})" for m in motifs))
    simulated = simulate_simple(motifs, n_per_class=s.n_per_class, width=s.width, gc=s.gc,
                                fractions=s.split_fractions, random_state=s.seed)
    simulated.implanted = _score_implanted(motifs, simulated.codes, simulated.implanted)
    enrichment = pd.DataFrame()
    shared = {"prepared": prepare_motifs(motifs, threshold=s.threshold), "threshold": s.threshold,
              "simulated": simulated}
    units = [("simple", a, b) for a, b in _ranges(len(simulated.codes), run.batch_size)]
    records = {split: int((simulated.splits == split).sum()) for split in SPLIT_ORDER}
    record = _write_batches(s, folder, log, run, units, shared, motifs, s.width, records)
    record.pop("dropped_positives")
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


def _write_batches(s: BuildSettings, folder: Path, log: StageLog, run: _Run, units, shared, motifs, width,
                   records: dict) -> dict:
    """Run the simulation units, write their rows as they come, and keep only compact statistics.

    ``records`` holds each split's number of real records, an upper bound on its rows.
    """
    num_proc, threads = run.num_proc, run.threads
    n_records = sum(records.values())
    writers = {split: SplitWriter(folder, s.config_name, split, at_most=records[split]) for split in SPLIT_ORDER}
    labels, splits, masked, counts, implanted = [], [], [], [], []
    carriers = np.zeros((len(motifs), 2), dtype=np.int64)
    dropped = 0
    with progress(total=n_records, desc="Simulating", unit="seq", verbose=log.verbose) as bar:
        for unit, part in zip(units, _stream.run_ordered(_stream.simulate_batch, units, shared, num_proc=num_proc,
                                                         n_threads=threads)):
            for split, table in part["tables"].items():
                writers[split].write(table)
            for kept, key in ((labels, "labels"), (splits, "splits"), (masked, "masked"), (counts, "counts"),
                              (implanted, "implanted")):
                kept.append(part[key])
            carriers += part["carriers"]
            dropped += part["dropped"]
            bar.update(unit[2] - unit[1])
    written = [info for info in (w.close() for w in writers.values()) if info["num_examples"]]
    labels = np.concatenate(labels).astype(np.int64)
    split_names = np.asarray(SPLIT_ORDER, dtype=object)[np.concatenate(splits)]
    counts = np.concatenate(counts)
    masked = np.concatenate(masked)
    write_meme(motifs, folder / "motifs.meme")
    occupancy = motif_occupancy(labels, carriers, motifs)
    plot_motif_statistics(folder / "motif_statistics.png", labels, counts, occupancy)
    return {
        "written": written,
        "width": width,
        "retained_motifs": motifs,
        "split_counts": split_counts(labels, split_names),
        "instance_stats": instance_statistics(labels, counts, np.concatenate(implanted), masked, width),
        "coverage": truth_coverage(labels, masked, width),
        "occupancy": occupancy,
        "total_rows": len(labels),
        "dropped_positives": dropped,
    }


def _dropped_rows(positives: Counter, background: Counter, simulation: Counter) -> list[dict]:
    rows = []
    for name, counter in (("positives", positives), ("background", background), ("simulation", simulation)):
        for reason, count in sorted(counter.items()):
            rows.append({"set": name, "reason": reason.replace("_", " "), "count": int(count)})
    return rows


def _embedded_provenance() -> str:
    text = EMBEDDED.joinpath("PROVENANCE.md").read_text().split("\n## For developers")[0].rstrip() + "\n"
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
            f"Each hit is weighted towards the window centre ({WEIGHT_FORMULAS[s.enrichment_weight]}; "
            f"`--enrichment-weight {s.enrichment_weight}`); a set's density is "
            "`(sum of weights + 1) / number of sequences` and the enrichment is the positives' density over "
            "the background's. " + describe_weight_comparison(s.enrichment_weight, record["weight_comparison"])
            + " " + coverage_sentence(record["coverage"])
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
        "citation": citations(s.motifs, embedded=s.embedded),
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
        "retained_with_other_enrichment_weights": record.get("weight_comparison", []),
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
