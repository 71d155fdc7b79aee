"""De novo motif discovery from the real sequences: the ``discover_motifs`` verb (``--motifs denovo``).

The paper found its motifs with HOMER in the peaks against the background; HOMER and the MEME suite are
not installable from PyPI, so regsim does what current practice does without them:

1. **train** a CNN (regsim's own :func:`regsim.models.train.train`) to tell the real positives from the
   real background (random 0.8/0.1/0.1 split of the real records for early stopping);
2. **explain** every positive with DeepSHAP against dinucleotide-shuffled references (regsim's own
   :func:`regsim.models.attribution.deeplift.deepshap`), as hypothetical contributions;
3. run **TF-MoDISco-lite** (``modiscolite.tfmodisco.TFMoDISco``) on them;
4. turn each positive pattern's aligned seqlets into a position frequency matrix trimmed to its
   informative core (:mod:`regsim.models.seqlet_matrix`); patterns whose core is narrower than
   ``min_width`` are dropped and counted;
5. **name** each motif by its best TOMTOM match in a database (memelite; default JASPAR2024 CORE
   vertebrates), keeping the match and its q-value.

The motifs then go through the build's usual scan, enrichment filter, simulation and truth. The whole
route is deterministic: training is seeded and single-threaded by default, the references are seeded
per sequence, and TF-MoDISco-lite's Leiden runs use fixed seeds.

This module sits in the models layer because it trains and explains; the dataset builder reaches it
only through the ``discover`` callable the ``regsim`` command passes to ``build_dataset``
(:mod:`regsim.dataset_builder.discovered`).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.log import StageLog
from regsim.dataset_builder.core.seeding import generator
from regsim.dataset_builder.core.sequences import one_hot_encode
from regsim.dataset_builder.discovered import DiscoveredMotifs
from regsim.dataset_builder.format import write_split
from regsim.dataset_builder.motifs import DEFAULT_MOTIF_SPEC, load_motifs, motif_from_counts
from regsim.dataset_builder.redundancy import DEFAULT_Q_THRESHOLD, best_matches
from regsim.dataset_builder.splits import random_splits

from .seqlet_matrix import DEFAULT_MIN_IC, core_span, seqlet_counts


@dataclass
class DenovoSettings:
    """Every setting of the de novo route (recorded in the dataset card and manifest).

    Attributes
    ----------
    arch, epochs, patience, width_multiplier, batch_size, num_threads
        The model trained on the real sequences (:func:`regsim.models.train.train`).
    split_fractions
        Train, validation, test fractions of the real records for that model.
    max_explained
        Explain at most this many positives (a seeded random subset; None: all). TF-MoDISco-lite keeps
        at most ``max_seqlets`` seqlets anyway, and DeepSHAP is the route's slowest step.
    n_refs
        Dinucleotide shuffles per positive for DeepSHAP.
    sliding_window_size, flank_size, max_seqlets, n_leiden_runs, final_min_cluster_size,
    trim_to_window_size, initial_flank_to_add
        TF-MoDISco-lite's ``TFMoDISco`` arguments of the same names (``max_seqlets`` is
        ``max_seqlets_per_metacluster``); the others are its defaults.
    min_ic, min_width
        Core trimming: columns with at least ``min_ic`` bits bound the core; narrower cores are dropped.
    database, q_threshold
        Motifs named after their best TOMTOM match in ``database`` when its q-value is below
        ``q_threshold`` (else ``denovo-NN``).
    """

    arch: str = "basset"
    epochs: int = 5
    patience: int = 2
    width_multiplier: float | None = None
    batch_size: int = 64
    num_threads: int = 1
    split_fractions: tuple = (0.8, 0.1, 0.1)
    max_explained: int | None = 1500
    n_refs: int = 10
    sliding_window_size: int = 21
    flank_size: int = 10
    max_seqlets: int = 2000
    n_leiden_runs: int = 10
    final_min_cluster_size: int = 20
    trim_to_window_size: int = 30
    initial_flank_to_add: int = 10
    min_ic: float = DEFAULT_MIN_IC
    min_width: int = 5
    database: str = DEFAULT_MOTIF_SPEC
    q_threshold: float = DEFAULT_Q_THRESHOLD


def discover_motifs(
    positives,
    background,
    *,
    settings: DenovoSettings | None = None,
    batch_size: int = 256,
    device: str = "cpu",
    random_state: int = 0,
    verbose: bool = True,
) -> DiscoveredMotifs:
    """Discover motifs in real positives against a real background.

    Parameters
    ----------
    positives, background : Regions or list of str
        Equal-length upper-case A/C/G/T sequences (``Regions`` from the build's inputs, or plain lists).
    settings : DenovoSettings, optional
        Default: :class:`DenovoSettings()`.
    batch_size : int, default 256
        DeepSHAP (sequence, reference) pairs per pass.
    device : str, default "cpu"
    random_state : int, default 0
        Seeds the model, its data split and the shuffled references.
    verbose : bool, default True
        Stage lines and progress bars.

    Returns
    -------
    DiscoveredMotifs
        ``motifs`` (ids ``denovo-NN`` in TF-MoDISco's pattern order, most seqlets first),
        ``matches`` (``motif_id``, ``seqlets``, ``core_start``, ``core_end``, ``best_match_id``,
        ``best_match_name``, ``best_match_p``, ``best_match_q``), ``settings``, ``description``,
        ``summary``.

    Raises
    ------
    UserError
        No pattern found, or none with an informative core.
    """
    s = settings or DenovoSettings()
    log = StageLog(verbose)
    pos = list(getattr(positives, "sequences", positives))
    neg = list(getattr(background, "sequences", background))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="regsim-denovo-") as work:
        work = Path(work)
        log(f"de novo: training a {s.arch} model on {len(pos)} real positives vs {len(neg)} real background sequences")
        results = _train_on_real(pos, neg, work, s, random_state=random_state, verbose=verbose)
        explained = _explained(len(pos), s.max_explained, random_state)
        log(f"de novo: model test auROC {results['test_auroc']:.3f}; DeepSHAP of {len(explained)} of the {len(pos)} "
            f"positives ({s.n_refs} dinucleotide shuffles each)")
        X = one_hot_encode([pos[i] for i in explained]).astype(np.float32)
        hypothetical = _explain(work / "model", X, s, batch_size=batch_size, device=device,
                                random_state=random_state, verbose=verbose)
    train_seconds = results["train_seconds"]
    log("de novo: TF-MoDISco-lite on the hypothetical contributions")
    patterns = _modisco(X, hypothetical, s)
    log(f"de novo: {len(patterns)} positive patterns; trimming each to its informative core and naming it by TOMTOM")
    motifs, rows, dropped = [], [], 0
    for k, seqlets in enumerate(patterns, start=1):
        counts = seqlet_counts(X, seqlets)
        span = core_span(counts, s.min_ic)
        if span is None or span[1] - span[0] < s.min_width:
            dropped += 1
            continue
        motif_id = f"denovo-{k:02d}"
        motifs.append(motif_from_counts(motif_id, motif_id, counts[:, span[0] : span[1]], source="de novo"))
        rows.append({"motif_id": motif_id, "seqlets": len(seqlets), "core_start": span[0], "core_end": span[1]})
    if not motifs:
        raise UserError(f"de novo discovery found {len(patterns)} pattern(s) and none with an informative core "
                        f"of >= {s.min_width} columns of >= {s.min_ic} bits")
    matches = pd.DataFrame(rows).merge(best_matches(motifs, load_motifs(s.database)), on="motif_id")
    motifs = [_named(m, row, s.q_threshold) for m, row in zip(motifs, matches.itertuples())]
    summary = {
        "model_test_auroc": round(float(results["test_auroc"]), 4),
        "model_test_auprc": round(float(results["test_auprc"]), 4),
        "model_epochs": int(results["epochs"]),
        "explained_positives": len(explained),
        "patterns": len(patterns),
        "patterns_dropped_narrow_core": dropped,
        "motifs": len(motifs),
        "train_seconds": round(float(train_seconds), 1),
        "discovery_seconds": round(time.perf_counter() - started, 1),
    }
    log(f"de novo: {len(motifs)} motifs (" + ", ".join(m.name for m in motifs[:5])
        + (", ..." if len(motifs) > 5 else "") + f"); {dropped} pattern(s) without an informative core dropped")
    return DiscoveredMotifs(
        motifs=motifs,
        matches=matches,
        settings={**_recorded(s), "seed": random_state},
        description=_description(s, random_state, summary),
        summary=summary,
    )


def _explained(n: int, limit: int | None, random_state: int) -> np.ndarray:
    """Indices of the positives to explain: all, or a seeded random subset of ``limit`` in input order."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(generator(random_state, "denovo-explained").choice(n, size=limit, replace=False))


def _named(motif, row, q_threshold: float):
    return replace(motif, name=row.best_match_name if row.best_match_q < q_threshold else motif.id)


def _recorded(s: DenovoSettings) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(s).items()} | {
        "modisco_lite_version": importlib.metadata.version("modisco-lite"),
        "memelite_version": importlib.metadata.version("memelite"),
    }


def _train_on_real(pos: list[str], neg: list[str], work: Path, s: DenovoSettings, *, random_state: int,
                   verbose: bool) -> dict:
    """Write the real records as a regsim dataset (empty truth columns) and train on it."""
    from .train import train

    data = work / "real"
    sequences = pos + neg
    labels = np.r_[np.ones(len(pos), dtype=np.int64), np.zeros(len(neg), dtype=np.int64)]
    ids = [f"pos-{i:06d}" for i in range(len(pos))] + [f"neg-{i:06d}" for i in range(len(neg))]
    splits = np.r_[random_splits(len(pos), s.split_fractions, random_state=random_state, purpose="denovo-positives"),
                   random_splits(len(neg), s.split_fractions, random_state=random_state, purpose="denovo-background")]
    for split in ("train", "validation", "test"):
        rows = np.flatnonzero(splits == split)
        write_split(data, "real", split, {
            "id": [ids[i] for i in rows],
            "sequence": [sequences[i] for i in rows],
            "label": labels[rows].tolist(),
            "motifs": [[] for _ in rows],
            "motif_mask": [[] for _ in rows],
            "source": [ids[i] for i in rows],
            "backbone": ["" for _ in rows],
        })
    return train(str(data / "real"), arch=s.arch, out=work / "model", epochs=s.epochs, patience=s.patience,
                 width_multiplier=s.width_multiplier, num_threads=s.num_threads, batch_size=s.batch_size,
                 random_state=random_state, verbose=False)


def _explain(model_dir: Path, X: np.ndarray, s: DenovoSettings, *, batch_size: int, device: str, random_state: int,
             verbose: bool) -> np.ndarray:
    from .attribution.deeplift import deepshap
    from .attribution.loading import load_model

    model = load_model(model_dir, device)
    with _torch_threads(s.num_threads):
        return deepshap(model, X, "shuffled", n_refs=s.n_refs, hypothetical=True, batch_size=batch_size,
                        device=device, random_state=random_state, verbose=verbose)


@contextlib.contextmanager
def _torch_threads(n: int):
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _modisco(X: np.ndarray, hypothetical: np.ndarray, s: DenovoSettings) -> list[list[tuple]]:
    """Positive patterns of TF-MoDISco-lite, each as its seqlets' ``(example, start, end, is_revcomp)``."""
    try:
        from modiscolite.tfmodisco import TFMoDISco
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise UserError(f"--motifs denovo needs modisco-lite (pip install modisco-lite): {error}") from error
    one_hot = np.ascontiguousarray(X.transpose(0, 2, 1))
    hyp = np.ascontiguousarray(hypothetical.transpose(0, 2, 1).astype(np.float32))
    positive, _ = TFMoDISco(
        one_hot=one_hot, hypothetical_contribs=hyp, sliding_window_size=s.sliding_window_size,
        flank_size=s.flank_size, max_seqlets_per_metacluster=s.max_seqlets, n_leiden_runs=s.n_leiden_runs,
        final_min_cluster_size=s.final_min_cluster_size, trim_to_window_size=s.trim_to_window_size,
        initial_flank_to_add=s.initial_flank_to_add, verbose=False,
    )
    length = X.shape[2]
    return [
        [(int(q.example_idx), int(q.start), int(q.end), bool(q.is_revcomp)) for q in pattern.seqlets
         if 0 <= q.start and q.end <= length]
        for pattern in (positive or [])
    ]


def _description(s: DenovoSettings, seed: int, summary: dict) -> str:
    return (
        f"The motifs were discovered de novo in the real positives against the real background (regsim "
        f"`--motifs denovo`, seed {seed}): a `{s.arch}` model was trained on the real sequences with regsim's "
        f"training (at most {s.epochs} epochs, patience {s.patience}, {s.num_threads} thread(s), split "
        f"{'/'.join(map(str, s.split_fractions))}; test auROC {summary['model_test_auroc']}); "
        f"{summary['explained_positives']} positives (a seeded random subset when there are more than "
        f"{s.max_explained}) were explained with regsim's DeepSHAP against {s.n_refs} dinucleotide-shuffled references (hypothetical "
        f"contributions); TF-MoDISco-lite {importlib.metadata.version('modisco-lite')} found "
        f"{summary['patterns']} positive patterns (sliding window {s.sliding_window_size}, flank {s.flank_size}, at "
        f"most {s.max_seqlets} seqlets, {s.n_leiden_runs} Leiden runs, final minimum cluster size "
        f"{s.final_min_cluster_size}, trimmed to {s.trim_to_window_size} + 2 x {s.initial_flank_to_add}; other "
        f"settings its defaults); each pattern's seqlets were counted into a position frequency matrix trimmed to "
        f"the span of columns with at least {s.min_ic} bits ({summary['patterns_dropped_narrow_core']} pattern(s) "
        f"with a core narrower than {s.min_width} dropped); each motif is named after its best TOMTOM match "
        f"(memelite {importlib.metadata.version('memelite')}) in {s.database} when that match's q-value is below "
        f"{s.q_threshold} (match and q-value in `retained_motifs.tsv`)."
    )
