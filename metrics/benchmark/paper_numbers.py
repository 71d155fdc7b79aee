"""The paper's published numbers beside a benchmark's results.

``paper_numbers.tsv`` (next to this module) is a verbatim copy of the published values of Prakash,
Shrikumar & Kundaje (MLCB 2021): the bar heights of Fig 2, 3, 4 and S9 measured against the figures'
gridlines, Table 1, and the exact A549 values the authors' final notebooks print; its header says
where each number comes from. :data:`MAPPING` says which regsim run stands beside each of the
authors' methods. The authors scored 400 bp DNase-seq peaks of five cell types and regsim scores
whatever dataset the benchmark ran on, so absolute auPRCs differ with the share of motif bases; the
comparable quantities are each method's ratio to a baseline method scored on the same sequences, and
the methods' ranking.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PAPER_NUMBERS = Path(__file__).with_name("paper_numbers.tsv")

#: figure -> {authors' method key: (regsim method, regsim reference)}. An authors' method missing here
#: has no regsim counterpart (e.g. 30 or 40 references). Other runs join by adding a line.
MAPPING = {
    "Fig2_methods": {
        "grad_x_input": ("grad_x_input", "none"),
        "deeplift_rsall_shuff20": ("deepshap", "shuffled20"),
        "deeplift_rsconv_shuff20": ("deepshap_rsconv", "shuffled20"),
        "ig20_shuff20": ("integrated_gradients_20steps", "shuffled10"),
        "ism": ("ism", "none"),
        "gkmexplain": ("gkmexplain", "none"),
        "zheng": ("zheng", "none"),
    },
    "Fig3_deeplift_rsall_references": {
        "zeros": ("deeplift", "zeros"),
        "base_freq": ("deeplift", "base_freq"),
        "shuffled10": ("deepshap", "shuffled10"),
        "shuffled20": ("deepshap", "shuffled20"),
        "shuffled50": ("deepshap", "shuffled50"),
    },
    "Fig4_gradcam_family": {
        "deeplift_shuff20_input": ("deepshap", "shuffled20"),
        "deeplift_shuff20_first_conv": ("deeplift_first", "shuffled20"),
        "grad_x_act_first_conv": ("grad_x_act_first", "none"),
        "gradcam_first_conv": ("gradcam_first", "none"),
        "gradcam_last_conv": ("gradcam_last", "none"),
        "zheng": ("zheng", "none"),
    },
    "FigS9_ig_steps": {
        "ig10_shuff20": ("integrated_gradients_10steps", "shuffled10"),
        "ig20_shuff20": ("integrated_gradients_20steps", "shuffled10"),
    },
}

#: figure -> (figure holding the baseline, authors' baseline key): the denominator of every ratio, taken
#: in the same cell type and architecture. Fig 3 and S9 have no grad x input bar; the same authors' runs
#: give it in Fig 2. Fig 4's own baseline is grad x activation at the first conv layer.
BASELINES = {
    "Fig2_methods": ("Fig2_methods", "grad_x_input"),
    "Fig3_deeplift_rsall_references": ("Fig2_methods", "grad_x_input"),
    "Fig4_gradcam_family": ("Fig4_gradcam_family", "grad_x_act_first_conv"),
    "FigS9_ig_steps": ("Fig2_methods", "grad_x_input"),
}

COLUMNS = ["figure", "arch", "method", "reference", "paper_mean", "paper_min", "paper_max", "paper_ratio",
           "ours_mean", "ours_ratio", "ours_sem", "ours_ratio_min", "ours_ratio_max", "n_seeds",
           "regsim_method", "regsim_reference", "n_cell_types", "paper_rank", "ours_rank"]


def load_paper_numbers(path: str | Path = PAPER_NUMBERS) -> pd.DataFrame:
    """The paper's numbers, one row per figure x arch x method x cell type x metric.

    Returns
    -------
    pandas.DataFrame
        Columns ``figure, arch, method, cell_type, metric, value, precision, source``.
    """
    return pd.read_csv(path, sep="\t", comment="#", dtype={"value": float, "precision": str})


def paper_auprcs(paper: pd.DataFrame, figure: str, arch: str) -> pd.DataFrame:
    """Cell type x authors' method table of the figure's mean per-sequence auPRCs."""
    rows = paper[(paper["metric"] == "auprc_mean") & (paper["arch"] == arch) & (paper["figure"] == figure)]
    return rows.pivot(index="cell_type", columns="method", values="value")


def _ours(results: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """``(arch, method, reference) x seed`` table of auPRC means (one column per seed)."""
    realistic = results[results["dataset"] == dataset].copy()
    if "seed" not in realistic:
        realistic["seed"] = 0
    return realistic.pivot_table(index=["arch", "method", "reference"], columns="seed", values="auprc_mean")


def paper_comparison(results: pd.DataFrame, paper: pd.DataFrame | None = None,
                     dataset: str = "realistic") -> pd.DataFrame:
    """Each of the paper's numbers beside regsim's for the same method, reference and architecture.

    Parameters
    ----------
    results : pandas.DataFrame
        The benchmark's ``results.csv``: columns ``dataset, arch, method, reference, auprc_mean``, and
        ``seed`` when several models per architecture were trained.
    paper : pandas.DataFrame, optional
        :func:`load_paper_numbers` output; loaded from ``paper_numbers.tsv`` when omitted.
    dataset : str, default "realistic"
        Which of the results' datasets stands beside the paper (the paper's data are realistic).

    Returns
    -------
    pandas.DataFrame
        One row per figure x arch x authors' method (:data:`COLUMNS`). ``method`` is the authors' key
        and ``reference`` the authors' key of the ratio's baseline (:data:`BASELINES`);
        ``regsim_method``/``regsim_reference`` the regsim run beside it (``"-"``: none).
        ``paper_mean`` is the mean over the cell types (``paper_min``/``paper_max`` their range),
        ``paper_ratio`` the mean over cell types of the method's auPRC divided by the baseline's in the
        same cell type. ``ours_mean`` is the mean over seeds of our mean per-sequence auPRC,
        ``ours_ratio`` the mean over seeds of our method / our baseline (``ours_ratio_min``/``_max``:
        its range over seeds). Ranks order, within a figure and arch, the methods both sides ran
        (1 = best). Our values are NaN where the run is missing from ``results``.
    """
    paper = load_paper_numbers() if paper is None else paper
    ours = _ours(results, dataset)
    rows = []
    listed = paper[paper["metric"] == "auprc_mean"]
    for (figure, arch), part in listed[listed["figure"].isin(MAPPING)].groupby(["figure", "arch"], sort=False):
        table = paper_auprcs(paper, figure, arch)
        base_figure, base_key = BASELINES[figure]
        base = paper_auprcs(paper, base_figure, arch)[base_key]
        ours_base = ours.loc[(arch, *MAPPING[base_figure][base_key])] if (
            arch, *MAPPING[base_figure][base_key]) in ours.index else None
        for method in dict.fromkeys(part["method"]):
            values = table[method]
            run = MAPPING[figure].get(method, ("-", "-"))
            key = (arch, *run)
            found = key in ours.index
            ratios = (ours.loc[key] / ours_base).dropna() if found and ours_base is not None else pd.Series(dtype=float)
            seeds = ours.loc[key].dropna() if found else pd.Series(dtype=float)
            rows.append({
                "figure": figure, "arch": arch, "method": method, "reference": base_key,
                "paper_mean": float(values.mean()), "paper_min": float(values.min()),
                "paper_max": float(values.max()), "paper_ratio": float((values / base).mean()),
                "ours_mean": float(seeds.mean()) if len(seeds) else np.nan,
                "ours_ratio": float(ratios.mean()) if len(ratios) else np.nan,
                "ours_sem": float(seeds.std(ddof=1) / np.sqrt(len(seeds))) if len(seeds) > 1 else np.nan,
                "ours_ratio_min": float(ratios.min()) if len(ratios) else np.nan,
                "ours_ratio_max": float(ratios.max()) if len(ratios) else np.nan,
                "n_seeds": len(seeds), "regsim_method": run[0], "regsim_reference": run[1],
                "n_cell_types": int(values.notna().sum()),
            })
    frame = pd.DataFrame(rows, columns=COLUMNS[:-2])
    both = frame["ours_mean"].notna()
    groups = frame[both].groupby(["figure", "arch"])
    frame.loc[both, "paper_rank"] = groups["paper_mean"].rank(ascending=False, method="min")
    frame.loc[both, "ours_rank"] = groups["ours_mean"].rank(ascending=False, method="min")
    return frame.reindex(columns=COLUMNS)


def paper_model_accuracy(paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's Table 1: ``arch x cell type`` rows, columns ``test_auroc``, ``test_auprc``."""
    paper = load_paper_numbers() if paper is None else paper
    models = paper[paper["figure"] == "Table1_models"]
    return models.pivot_table(index=["arch", "cell_type"], columns="metric", values="value")
