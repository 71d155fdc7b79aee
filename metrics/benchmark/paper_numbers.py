"""The paper's published numbers beside a benchmark's results.

``paper_numbers.tsv`` (next to this module) holds the values behind the bar charts of Prakash, Shrikumar
& Kundaje (MLCB 2021), copied from the authors' notebooks; its header says where each number comes from
and what it measures. The authors scored 400 bp DNase-seq peaks of five cell types, regsim scores
whatever dataset the benchmark ran on, so absolute auPRCs differ with the share of motif bases; the
comparable quantities are each method's ratio to a baseline method scored on the same sequences, and
the methods' ranking.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PAPER_NUMBERS = Path(__file__).with_name("paper_numbers.tsv")

#: The method each comparison's ratios are taken against, as (authors' key, regsim method, reference).
#: The GradCAM run of the authors scored everything at the first conv layer, so its baseline is
#: grad x activation there.
BASELINES = {
    "methods": ("grad_times_input", "grad_x_input", "none"),
    "references": ("grad_times_input", "grad_x_input", "none"),
    "gradcam": ("gradtimesact_direct", "grad_x_act_first", "none"),
}

COLUMNS = ["comparison", "arch", "authors_method", "method", "reference", "n_cell_types", "paper_auprc",
           "paper_min", "paper_max", "paper_ratio", "ours_auprc", "ours_sem", "ours_ratio", "paper_rank",
           "ours_rank"]


def load_paper_numbers(path: str | Path = PAPER_NUMBERS) -> pd.DataFrame:
    """The paper's numbers, one row per comparison x arch x cell type x method x metric.

    Returns
    -------
    pandas.DataFrame
        Columns ``comparison, arch, cell_type, authors_method, method, reference, metric, value,
        source``; ``method``/``reference`` are ``"-"`` where regsim runs no counterpart.
    """
    return pd.read_csv(path, sep="\t", comment="#", dtype={"value": float})


def _paper_auprcs(paper: pd.DataFrame, comparison: str, arch: str) -> pd.DataFrame:
    """Cell type x authors' method table of mean auPRCs. The references comparison takes its
    baseline from the methods comparison (same authors' runs, same cell types)."""
    rows = paper[(paper["metric"] == "auprc_mean") & (paper["arch"] == arch)
                 & paper["comparison"].isin({comparison, "methods"} if comparison == "references" else {comparison})]
    rows = rows.drop_duplicates(["cell_type", "authors_method"], keep="first")
    return rows.pivot(index="cell_type", columns="authors_method", values="value")


def paper_comparison(results: pd.DataFrame, paper: pd.DataFrame | None = None,
                     dataset: str = "realistic") -> pd.DataFrame:
    """Each of the paper's numbers beside regsim's for the same method, reference and architecture.

    Parameters
    ----------
    results : pandas.DataFrame
        The benchmark's ``results.csv``: columns ``dataset, arch, method, reference, auprc_mean,
        auprc_sem``.
    paper : pandas.DataFrame, optional
        :func:`load_paper_numbers` output; loaded from ``paper_numbers.tsv`` when omitted.
    dataset : str, default "realistic"
        Which of the results' datasets stands beside the paper (the paper's data are realistic).

    Returns
    -------
    pandas.DataFrame
        One row per comparison x arch x authors' method (:data:`COLUMNS`). ``paper_auprc`` is the mean
        over the cell types (``paper_min``/``paper_max`` their range); ``paper_ratio`` the mean over
        cell types of the method's auPRC divided by the comparison's baseline (:data:`BASELINES`) in
        the same cell type; ``ours_ratio`` the same ratio in our results. Ranks order the methods
        both sides ran (1 = best) by ``paper_auprc`` and ``ours_auprc``. Our values are NaN where the
        run is missing from ``results`` (``--quick``) or regsim has no counterpart.
    """
    paper = load_paper_numbers() if paper is None else paper
    ours = results[results["dataset"] == dataset].set_index(["arch", "method", "reference"])
    rows = []
    listed = paper[paper["metric"] == "auprc_mean"]
    for (comparison, arch), part in listed.groupby(["comparison", "arch"], sort=False):
        table = _paper_auprcs(paper, comparison, arch)
        base_key, base_method, base_reference = BASELINES[comparison]
        ours_base = (ours.loc[(arch, base_method, base_reference), "auprc_mean"]
                     if (arch, base_method, base_reference) in ours.index else np.nan)
        for entry in part.drop_duplicates("authors_method").itertuples():
            values = table[entry.authors_method]
            key = (arch, entry.method, entry.reference)
            found = key in ours.index
            rows.append({
                "comparison": comparison, "arch": arch, "authors_method": entry.authors_method,
                "method": entry.method, "reference": entry.reference, "n_cell_types": int(values.notna().sum()),
                "paper_auprc": float(values.mean()), "paper_min": float(values.min()), "paper_max": float(values.max()),
                "paper_ratio": float((values / table[base_key]).mean()),
                "ours_auprc": float(ours.loc[key, "auprc_mean"]) if found else np.nan,
                "ours_sem": float(ours.loc[key, "auprc_sem"]) if found else np.nan,
                "ours_ratio": float(ours.loc[key, "auprc_mean"] / ours_base) if found else np.nan,
            })
    frame = pd.DataFrame(rows, columns=COLUMNS[:-2])
    both = frame["ours_auprc"].notna()
    groups = frame[both].groupby(["comparison", "arch"])
    frame.loc[both, "paper_rank"] = groups["paper_auprc"].rank(ascending=False, method="min")
    frame.loc[both, "ours_rank"] = groups["ours_auprc"].rank(ascending=False, method="min")
    return frame.reindex(columns=COLUMNS)


def paper_model_accuracy(paper: pd.DataFrame | None = None) -> dict:
    """The authors' reported test metrics, ``{(arch, cell_type): {metric: value}}``."""
    paper = load_paper_numbers() if paper is None else paper
    models = paper[paper["comparison"] == "model"]
    out: dict = {}
    for r in models.itertuples():
        out.setdefault((r.arch, r.cell_type), {})[r.metric] = float(r.value)
    return out
