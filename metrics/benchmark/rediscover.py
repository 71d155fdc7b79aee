"""Motifs read out of attributions, checked against the ground truth: the ``regsim motifs`` verb.

TF-MoDISco (modisco-lite) clusters the high-attribution seqlets of an attribution file into patterns;
each pattern is trimmed as modisco-lite's own report trims it (positions whose summed |CWM| reaches 30 %
of the largest) and its position probability matrix is compared by TOMTOM (memelite) with the dataset's
ground-truth motifs (``motifs.meme``). TOMTOM's p-values take their background from the target columns
and are unstable with few targets, so the targets are the ground-truth motifs plus a motif database
(default JASPAR2024 CORE vertebrates), which also names the patterns that match no ground-truth motif.
q-values are Benjamini-Hochberg over all targets of a pattern, as MEME's tomtom reports them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regsim.dataset_builder.core.errors import UserError

DEFAULT_DATABASE = "jaspar:JASPAR2024:CORE:vertebrates"
TSV_COLUMNS = ("motif_id", "motif_name", "rediscovered", "pattern", "q_value")


@dataclass
class Pattern:
    """One modisco-lite pattern: ``name`` (``pos_patterns.pattern_0``), trimmed ``ppm`` and ``cwm`` ``(4, w)``,
    ``n_seqlets``."""

    name: str
    ppm: np.ndarray
    cwm: np.ndarray
    n_seqlets: int


def bh_qvalues(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of each row of ``p_values`` ``(n_queries, n_targets)``."""
    p = np.atleast_2d(np.asarray(p_values, dtype=np.float64))
    m = p.shape[1]
    order = np.argsort(p, axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1) * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), axis=1)
    return q


def trim(ppm: np.ndarray, cwm: np.ndarray, threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Cut a pattern's ``(w, 4)`` PPM and CWM to the span whose ``sum |CWM|`` reaches ``threshold`` x its max."""
    score = np.abs(cwm).sum(axis=1)
    keep = np.flatnonzero(score >= threshold * score.max())
    return ppm[keep.min(): keep.max() + 1], cwm[keep.min(): keep.max() + 1]


def modisco_inputs(arrays: dict, path) -> tuple[np.ndarray, np.ndarray]:
    """One-hot and hypothetical contributions, both ``(N, L, 4)`` float32, from a ``regsim attribute`` file.

    Hypothetical contributions (DeepLIFT, DeepSHAP, IG) are used where the file has them; otherwise the
    ``(N, 4, L)`` attributions themselves (ISM's per-substitution effects, gradients).
    """
    scores = arrays.get("hypothetical", arrays.get("attributions"))
    if scores is None or "sequences" not in arrays or np.ndim(scores) != 3:
        raise UserError(f"{path}: modisco-lite needs (N, 4, L) attributions and one-hot sequences; "
                        "base-level methods (GradCAM, first-layer maps) have no per-base letters")
    one_hot = np.ascontiguousarray(np.transpose(arrays["sequences"], (0, 2, 1)), dtype=np.float32)
    return one_hot, np.ascontiguousarray(np.transpose(scores, (0, 2, 1)), dtype=np.float32)


def find_patterns(one_hot, hypothetical, *, max_seqlets: int = 2000, n_leiden_runs: int = 2, out_h5=None,
                  verbose: bool = False) -> list[Pattern]:
    """Run modisco-lite with its command-line defaults (seqlet FDR 0.05, 20-bp cores, 5-bp flanks).

    Parameters
    ----------
    one_hot, hypothetical : np.ndarray
        ``(N, L, 4)`` float32.
    max_seqlets : int, default 2000
        Seqlets per metacluster (modisco-lite's ``-n``).
    n_leiden_runs : int, default 2
    out_h5 : path, optional
        Also write modisco-lite's results file (``modisco-lite report`` reads it).
    verbose : bool, default False

    Returns
    -------
    list of Pattern
        Positive patterns then negative ones, in modisco-lite's order, trimmed.
    """
    import modiscolite

    pos, neg = modiscolite.tfmodisco.TFMoDISco(
        one_hot=one_hot, hypothetical_contribs=hypothetical, max_seqlets_per_metacluster=max_seqlets,
        sliding_window_size=20, flank_size=5, trim_to_window_size=30, initial_flank_to_add=10,
        final_flank_to_add=0, target_seqlet_fdr=0.05, n_leiden_runs=n_leiden_runs, verbose=verbose,
    )
    if out_h5 is not None:
        modiscolite.io.save_hdf5(str(out_h5), pos, neg, one_hot.shape[1])
    patterns = []
    for group, found in (("pos_patterns", pos), ("neg_patterns", neg)):
        for k, pattern in enumerate(found or []):
            ppm, cwm = trim(np.asarray(pattern.sequence), np.asarray(pattern.contrib_scores))
            patterns.append(Pattern(f"{group}.pattern_{k}", ppm.T, cwm.T, len(pattern.seqlets)))
    return patterns


def match_patterns(patterns: list[Pattern], truth, database) -> dict:
    """TOMTOM of every pattern against the ground-truth motifs plus ``database`` (motifs with ``.id``,
    ``.name``, ``.probabilities`` ``(4, w)``); database motifs with a ground-truth id are left out.

    Returns
    -------
    dict
        ``q`` ``(n_patterns, n_targets)`` q-values, ``targets`` (the motifs, ground truth first) and
        ``n_truth``.
    """
    import warnings

    from memelite import tomtom

    truth_ids = {m.id for m in truth}
    targets = list(truth) + [m for m in database if m.id not in truth_ids]
    if not patterns:
        return {"q": np.ones((0, len(targets))), "targets": targets, "n_truth": len(truth)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the few-targets warning, when no database is given
        p = tomtom([np.asarray(pt.ppm, dtype=np.float64) for pt in patterns],
                   [np.asarray(m.probabilities, dtype=np.float64) for m in targets], n_jobs=1)[0]
    return {"q": bh_qvalues(np.asarray(p)), "targets": targets, "n_truth": len(truth)}


def rediscovery_rows(patterns: list[Pattern], matches: dict, q_threshold: float = 0.05) -> list[dict]:
    """The rows of ``rediscovery.tsv``: one per ground-truth motif (its best pattern), then one per pattern
    that matches no ground-truth motif at ``q < q_threshold`` (with its best database match)."""
    q, targets, n_truth = matches["q"], matches["targets"], matches["n_truth"]
    rows = []
    for j, motif in enumerate(targets[:n_truth]):
        best = int(np.argmin(q[:, j])) if len(patterns) else None
        found = best is not None and q[best, j] < q_threshold
        rows.append({"motif_id": motif.id, "motif_name": motif.name, "rediscovered": "yes" if found else "no",
                     "pattern": patterns[best].name if found else "",
                     "q_value": float(q[best, j]) if best is not None else float("nan")})
    for i, pattern in enumerate(patterns):
        if n_truth and (q[i, :n_truth] < q_threshold).any():
            continue
        best = int(np.argmin(q[i])) if q.shape[1] else None
        rows.append({"motif_id": "", "motif_name": "", "rediscovered": "", "pattern": pattern.name,
                     "q_value": float(q[i, best]) if best is not None else float("nan"),
                     "best_match": f"{targets[best].id} {targets[best].name}" if best is not None else "",
                     "n_seqlets": pattern.n_seqlets})
    return rows


def rediscover_motifs(attr_file, dataset, out, *, database: str | None = DEFAULT_DATABASE, q_threshold: float = 0.05,
                      max_seqlets: int = 2000, n_leiden_runs: int = 2, verbose: bool = False) -> list[dict]:
    """Run modisco-lite on an attribution file, match its patterns to the dataset's motifs, write a report.

    Parameters
    ----------
    attr_file : path
        ``<method>__<reference>.npz`` from ``regsim attribute`` with ``(N, 4, L)`` attributions.
    dataset : path
        Dataset folder whose ``motifs.meme`` holds the ground-truth motifs.
    out : path
        Output folder: ``report.md``, ``rediscovery.tsv``, ``modisco_results.h5``, ``logos/*.png``.
    database : str or None, default JASPAR2024 CORE vertebrates
        Extra TOMTOM targets (a JASPAR spec or motif file); None: the ground-truth motifs only.
    q_threshold : float, default 0.05
    max_seqlets, n_leiden_runs : int
        modisco-lite settings (its command line's defaults are 2000 seqlets given by ``-n``, 2 runs).
    verbose : bool, default False

    Returns
    -------
    list of dict
        The rows of ``rediscovery.tsv``.
    """
    from regsim.dataset_builder.core.log import StageLog
    from regsim.dataset_builder.motifs import load_motifs

    log = StageLog(verbose)
    attr_file, out = Path(attr_file), Path(out)
    meme = Path(dataset) / "motifs.meme"
    if not meme.is_file():
        raise UserError(f"{meme}: not found; give a dataset folder written by `regsim build`")
    if not attr_file.is_file():
        raise UserError(f"{attr_file}: attribution file not found")
    with np.load(attr_file) as stored:
        arrays = {name: stored[name] for name in stored.files}
    one_hot, hypothetical = modisco_inputs(arrays, attr_file)
    truth = load_motifs(meme)
    background = load_motifs(database) if database else []
    out.mkdir(parents=True, exist_ok=True)
    log(f"modisco-lite on {len(one_hot)} sequences of {one_hot.shape[1]} bp")
    patterns = find_patterns(one_hot, hypothetical, max_seqlets=max_seqlets, n_leiden_runs=n_leiden_runs,
                             out_h5=out / "modisco_results.h5", verbose=False)
    log(f"{len(patterns)} patterns; TOMTOM against {len(truth)} ground-truth motifs"
        + (f" and {len(background)} database motifs" if background else ""))
    matches = match_patterns(patterns, truth, background)
    rows = rediscovery_rows(patterns, matches, q_threshold)
    with open(out / "rediscovery.tsv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(TSV_COLUMNS)
        for row in rows:
            writer.writerow([row["motif_id"], row["motif_name"], row["rediscovered"], row["pattern"],
                             f"{row['q_value']:.3g}"])
    _write_logos(patterns, out / "logos")
    _write_report(out / "report.md", attr_file, dataset, patterns, rows, matches, q_threshold, database)
    return rows


def _write_logos(patterns: list[Pattern], folder: Path) -> None:
    from .plot import _plt, plot_logo

    plt = _plt()
    folder.mkdir(exist_ok=True)
    for pattern in patterns:
        fig, ax = plt.subplots(figsize=(max(3.0, 0.25 * pattern.cwm.shape[1]), 1.6))
        plot_logo(ax, pattern.cwm, title=f"{pattern.name} ({pattern.n_seqlets} seqlets)")
        ax.set_xticks([])
        fig.tight_layout()
        fig.savefig(folder / f"{pattern.name}.png", dpi=100, metadata={"Software": None})
        plt.close(fig)


def _write_report(path: Path, attr_file, dataset, patterns, rows, matches, q_threshold, database) -> None:
    seqlets = {p.name: p.n_seqlets for p in patterns}
    truth_rows = [r for r in rows if r["motif_id"]]
    other_rows = [r for r in rows if not r["motif_id"]]
    found = sum(r["rediscovered"] == "yes" for r in truth_rows)
    lines = [
        f"# Motifs in `{Path(attr_file).name}`", "",
        f"modisco-lite found {len(patterns)} patterns in the attributions of `{attr_file}`; TOMTOM (memelite) "
        f"matched them against the {matches['n_truth']} ground-truth motifs of `{dataset}`"
        + (f" with `{database}` as further targets" if database else "")
        + f". A motif counts as rediscovered when a pattern matches it at q < {q_threshold:g}.", "",
        f"**{found} of {len(truth_rows)} ground-truth motifs rediscovered.**", "",
        "## Ground-truth motifs", "",
        "| motif | name | rediscovered | pattern | seqlets | q-value | logo |", "|---|---|---|---|---|---|---|",
    ]
    for r in truth_rows:
        logo = f"![{r['pattern']}](logos/{r['pattern']}.png)" if r["pattern"] else ""
        lines.append(f"| {r['motif_id']} | {r['motif_name']} | {r['rediscovered']} | {r['pattern']} | "
                     f"{seqlets.get(r['pattern'], '')} | {r['q_value']:.3g} | {logo} |")
    lines += ["", "## Patterns that match no ground-truth motif", ""]
    if other_rows:
        lines += ["| pattern | seqlets | best match | q-value | logo |", "|---|---|---|---|---|"]
        for r in other_rows:
            lines.append(f"| {r['pattern']} | {r['n_seqlets']} | {r['best_match']} | {r['q_value']:.3g} | "
                         f"![{r['pattern']}](logos/{r['pattern']}.png) |")
    else:
        lines.append("None.")
    lines += ["", "The same as a table: `rediscovery.tsv`; modisco-lite's own results: `modisco_results.h5`.", ""]
    path.write_text("\n".join(lines))
