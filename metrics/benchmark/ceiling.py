"""What the data allow: reference models beside the benchmarked ones, the flag, and training curves.

An attribution benchmark measures explanations of a model; a model that has not learned what the data
hold is measured for its failure instead. Each dataset gets reference models (``regsim train --arch
reference``: one convolution, global max pooling, 32 hidden units), trained on the same splits; a
benchmarked model whose test auROC is more than :data:`MARGIN` below the best reference on the same
dataset is **flagged**: its attributions are reported, but the paper's findings are checked without
them (:func:`without_flagged`).
"""

from __future__ import annotations

import json

from pathlib import Path

import pandas as pd

REFERENCE_ARCHS = ("reference",)
MARGIN = 0.02


def model_gaps(models: dict, margin: float = MARGIN) -> dict:
    """Each benchmarked model's test auROC against the best reference model of its dataset.

    Parameters
    ----------
    models : dict
        ``(dataset, arch, seed) -> eval results`` (at least ``test_auroc``), references included.
    margin : float, default 0.02

    Returns
    -------
    dict
        ``(dataset, arch, seed) -> {"test_auroc", "reference_arch", "reference_auroc", "gap", "flagged"}``
        for every non-reference model; ``gap`` = reference auROC - model auROC; ``flagged`` when
        ``gap > margin``. Without a reference on that dataset: reference fields None, not flagged.
    """
    best = {}
    for (dataset, arch, _), info in models.items():
        if arch in REFERENCE_ARCHS and "test_auroc" in info:
            if dataset not in best or info["test_auroc"] > best[dataset][1]:
                best[dataset] = (arch, float(info["test_auroc"]))
    gaps = {}
    for (dataset, arch, seed), info in models.items():
        if arch in REFERENCE_ARCHS:
            continue
        auroc = float(info.get("test_auroc", float("nan")))
        reference_arch, reference_auroc = best.get(dataset, (None, None))
        gap = None if reference_auroc is None else reference_auroc - auroc
        gaps[(dataset, arch, seed)] = {"test_auroc": auroc, "reference_arch": reference_arch,
                                 "reference_auroc": reference_auroc, "gap": gap,
                                 "flagged": gap is not None and gap > margin}
    return gaps


def without_flagged(results: pd.DataFrame, models: dict, margin: float = MARGIN) -> pd.DataFrame:
    """The rows of ``results`` whose model is not flagged (for the paper's findings)."""
    flagged = {key for key, gap in model_gaps(models, margin).items() if gap["flagged"]}
    keep = [(d, a, s) not in flagged for d, a, s in zip(results["dataset"], results["arch"], results["seed"])]
    return results[keep]


def ceiling_section(models: dict, figures: Path, margin: float = MARGIN) -> list[str]:
    """Markdown lines: each model beside the best reference (flags), and every model's training curves
    (plotted into ``figures`` from its folder's ``training_log.json``)."""
    from regsim.models.plot_training_curves import plot_training_curves

    gaps = model_gaps(models, margin)
    lines = ["### Distance to what the data allow", "",
             f"Reference model: `regsim train --arch reference` on the same splits. A model more than {margin} test "
             "auROC below the best reference of its dataset is flagged: its attributions are reported, but the "
             "paper's findings are checked without them.", "",
             "| dataset | arch | seed | test auROC | best reference | reference test auROC | reference minus model | flagged |",
             "|---|---|---|---|---|---|---|---|"]
    for (dataset, arch, seed), gap in gaps.items():
        if gap["reference_auroc"] is None:
            lines.append(f"| {dataset} | {arch} | {seed} | {gap['test_auroc']:.3f} | none | | | no |")
            continue
        lines.append(f"| {dataset} | {arch} | {seed} | {gap['test_auroc']:.3f} | {gap['reference_arch']} | "
                     f"{gap['reference_auroc']:.3f} | {gap['gap']:+.3f} | {'**yes**' if gap['flagged'] else 'no'} |")
    flagged = [f"{d} / {a} (seed {s})" for (d, a, s), gap in gaps.items() if gap["flagged"]]
    lines += ["", f"Flagged: {', '.join(flagged) if flagged else 'none'}.", "", "### Training curves", ""]
    for (dataset, arch, seed), info in models.items():
        model_dir = info.get("model_dir")
        if not model_dir or not (Path(model_dir) / "training_log.json").exists():
            continue
        if "history" not in json.loads((Path(model_dir) / "training_log.json").read_text(encoding="utf-8")):
            continue  # no epochs: the gkm-SVM
        name = f"fig_training_{dataset}_{arch}_seed{seed}.png"
        plot_training_curves(model_dir, Path(figures) / name, title=f"{dataset} / {arch} / seed {seed}")
        lines += [f"![training curves {dataset} / {arch} / seed {seed}](figures/{name})", ""]
    return lines


__all__ = ["REFERENCE_ARCHS", "MARGIN", "model_gaps", "without_flagged", "ceiling_section"]
