"""The benchmark report: ``report.md`` with tables and PNG figures, from the results table.

Figures (in ``<out>/figures/``): one bar chart per comparison (the paper's Fig 2 methods, Fig 3
references, Fig 4 GradCAM family), attribution tracks of example sequences under their ground-truth
motifs, and the logit along the Integrated Gradients path (the paper's Fig S10). The last sections
put the paper's published numbers (:mod:`metrics.paper_numbers`) beside ours and check its findings
against the measured numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .paper_numbers import BASELINES, load_paper_numbers, paper_comparison, paper_model_accuracy
from .plot import plot_logo

GROUPS = {
    "methods": ("Method comparison (the paper's Fig 2)", "fig_methods.png"),
    "references": ("Reference comparison for DeepLIFT (the paper's Fig 3)", "fig_references.png"),
    "gradcam": ("GradCAM family (the paper's Fig 4)", "fig_gradcam.png"),
}
TRACK_RUNS = [("grad_x_input", "none"), ("deepshap", "shuffled20"), ("ism", "none"), ("gradcam_last", "none"),
              ("gradcam_first", "none")]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _column(dataset: str, arch: str) -> str:
    return f"{dataset} / {arch}"


def comparison_table(results: pd.DataFrame, group: str) -> pd.DataFrame:
    """Rows: runs of ``group``; columns: ``dataset / arch``; cells: mean per-sequence auPRC +- SEM."""
    rows = results[results["groups"].str.split(",").apply(lambda g: group in g)]
    table = {}
    for (dataset, arch), part in rows.groupby(["dataset", "arch"], sort=False):
        table[_column(dataset, arch)] = {
            r.label: f"{r.auprc_mean:.3f} ± {r.auprc_sem:.3f}" for r in part.itertuples()
        }
    return pd.DataFrame(table)


def _markdown(frame: pd.DataFrame, index_name: str) -> str:
    columns = [index_name, *frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *[str(v) for v in row.values]]) + " |")
    return "\n".join(lines)


def _bar_chart(results: pd.DataFrame, group: str, baselines: dict, path: Path, title: str) -> None:
    plt = _plt()
    rows = results[results["groups"].str.split(",").apply(lambda g: group in g)]
    labels = list(dict.fromkeys(rows["label"]))
    panels = list(dict.fromkeys(zip(rows["dataset"], rows["arch"])))
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(labels) * max(1, len(panels)) / 2.5), 4.8))
    width = 0.8 / max(len(panels), 1)
    x = np.arange(len(labels))
    colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
    for k, (dataset, arch) in enumerate(panels):
        part = rows[(rows["dataset"] == dataset) & (rows["arch"] == arch)].set_index("label").reindex(labels)
        ax.bar(x + (k - (len(panels) - 1) / 2) * width, part["auprc_mean"], width, yerr=part["auprc_sem"],
               label=_column(dataset, arch), color=colors[k % len(colors)], capsize=2)
    for k, ((dataset, arch), value) in enumerate(baselines.items()):
        if (dataset, arch) in panels:
            ax.axhline(value, color=colors[panels.index((dataset, arch)) % len(colors)], ls=":", lw=1)
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("mean per-sequence auPRC (± SEM)")
    ax.set_title(title + "\n(dotted: random-score baseline = share of motif bases)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def _tracks(figure_data: dict, path: Path, n_examples: int = 3) -> None:
    plt = _plt()
    runs = [r for r in TRACK_RUNS if r in figure_data["attributions"]]
    if not runs:
        return
    n = min(n_examples, len(figure_data["X"]))
    fig, axes = plt.subplots(len(runs), n, figsize=(5 * n, 1.3 * len(runs) + 0.8), squeeze=False, sharex=True)
    for j in range(n):
        mask = figure_data["masks"][j]
        for i, run in enumerate(runs):
            ax = axes[i, j]
            plot_logo(ax, figure_data["attributions"][run][j], figure_data["X"][j], mask=mask)
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(f"{run[0]}\n{run[1]}", fontsize=7, rotation=0, ha="right", va="center")
            if i == 0:
                ax.set_title(str(figure_data["ids"][j]), fontsize=8)
        axes[-1, j].set_xlabel("position (bp); logos of the scored attributions; yellow: ground-truth motif instances",
                               fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def ig_path_logits(model, X: np.ndarray, references: dict, n_points: int = 51) -> dict:
    """Logit along the straight path ``r + a (x - r)``, ``a`` in [0, 1], for each reference.

    Returns ``{"alpha": (n_points,), name: (N, n_points)}``.
    """
    import torch

    alphas = np.linspace(0, 1, n_points, dtype=np.float32)
    out = {"alpha": alphas}
    with torch.no_grad():
        for name, reference in references.items():
            x = torch.from_numpy(X)[:, None]
            r = torch.from_numpy(reference)[:, None]
            a = torch.from_numpy(alphas)[None, :, None, None]
            path = (r + a * (x - r)).reshape(-1, *X.shape[1:])
            logits = model.logits(path) if hasattr(model, "logits") else model(path).logits
            out[name] = logits.reshape(len(X), n_points).numpy()
    return out


def _ig_path_figure(figure_data: dict, path: Path, n_examples: int = 4) -> None:
    from regsim.dataset_builder.dinucleotide_shuffle import dinucleotide_shuffle

    plt = _plt()
    X = figure_data["X"][:n_examples]
    references = {"zeros": np.zeros_like(X), "dinucleotide shuffle": dinucleotide_shuffle(X, 1, random_state=0)[:, 0]}
    curves = ig_path_logits(figure_data["model"], X, references)
    fig, axes = plt.subplots(1, len(references), figsize=(10, 3.6), squeeze=False)
    for ax, name in zip(axes[0], references):
        for k in range(len(X)):
            ax.plot(curves["alpha"], curves[name][k], lw=1, label=str(figure_data["ids"][k]))
        ax.set_xlabel("alpha (reference -> input)")
        ax.set_ylabel("logit")
        ax.set_title(f"reference: {name}", fontsize=10)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Logit along the Integrated Gradients path (the paper's Fig S10)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def _row(results, dataset, arch, method, reference):
    row = results[(results["dataset"] == dataset) & (results["arch"] == arch) & (results["method"] == method)
                  & (results["reference"] == reference)]
    return row.iloc[0] if len(row) else None


def _value(results, dataset, arch, method, reference):
    row = _row(results, dataset, arch, method, reference)
    return float(row["auprc_mean"]) if row is not None else float("nan")


def _tied(a, b) -> bool:
    """Whether two mean auPRCs differ by less than two standard errors of their difference."""
    sem_a = a.get("auprc_sem", 0.0) if hasattr(a, "get") else 0.0
    sem_b = b.get("auprc_sem", 0.0) if hasattr(b, "get") else 0.0
    return abs(a["auprc_mean"] - b["auprc_mean"]) < 2 * float(np.hypot(np.nan_to_num(sem_a), np.nan_to_num(sem_b)))


def paper_findings(results: pd.DataFrame, baselines: dict) -> list[dict]:
    """The paper's findings, each checked against the results.

    Rankings use the paper's methods only (saliency and the off-simplex corrections are regsim's
    additions); two methods whose mean auPRCs differ by less than two standard errors of the
    difference count as tied. Findings the paper states as "sometimes" (IG trailing grad x input) hold
    when they hold for at least one model.
    """
    findings = []
    realistic = results[results["dataset"] == "realistic"]
    archs = list(dict.fromkeys(realistic["arch"]))
    shuffled = sorted({r for r in realistic["reference"] if r.startswith("shuffled")}, key=lambda r: int(r[8:] or 0))
    best_shuffled = "shuffled20" if "shuffled20" in shuffled else (shuffled[-1] if shuffled else None)

    method_rows = realistic[realistic["groups"].str.contains("methods")]
    for arch in archs:
        part = method_rows[(method_rows["arch"] == arch) & ~method_rows["method"].str.endswith("offsimplex")
                           & ~method_rows["method"].str.startswith("saliency")]
        ranking = part.sort_values("auprc_mean", ascending=False).reset_index(drop=True)
        if ranking.empty:
            continue
        order = "; ".join(f"{r.label} {r.auprc_mean:.3f} ± {r.auprc_sem:.3f}" for r in ranking.itertuples())
        top = ranking.iloc[0]
        deeplift = ranking[ranking["method"] == "deepshap"]
        deeplift_best = len(deeplift) > 0 and (deeplift.index[0] == 0 or _tied(deeplift.iloc[0], top))
        findings.append({
            "finding": f"DeepLIFT with ~20 dinucleotide-shuffled references is the best method ({arch})",
            "paper": "best of the paper's methods",
            "ours": order,
            "holds": bool(deeplift_best),
        })
        ism = ranking[ranking["method"] == "ism"]
        if len(ism):
            rank = int(ism.index[0]) + 1
            # second, or first but tied with the runner-up
            holds = rank == 2 or (rank == 1 and len(ranking) > 1 and _tied(ranking.iloc[0], ranking.iloc[1]))
            findings.append({
                "finding": f"ISM is second ({arch})",
                "paper": "second best",
                "ours": f"ISM ranks {rank} ({ism.iloc[0].auprc_mean:.3f} ± {ism.iloc[0].auprc_sem:.3f})",
                "holds": bool(holds),
            })
        gradcam = _value(results, "realistic", arch, "gradcam_last", "none")
        gxi = _value(results, "realistic", arch, "grad_x_input", "none")
        baseline = baselines.get(("realistic", arch), float("nan"))
        findings.append({
            "finding": f"GradCAM fails on realistic data ({arch})",
            "paper": "far below the other methods",
            "ours": f"GradCAM (last conv) {gradcam:.3f} vs grad x input {gxi:.3f}; random baseline {baseline:.3f}",
            "holds": bool(gradcam < gxi - 0.05),
        })

    ig_vs_gxi = {a: (_row(results, "realistic", a, "integrated_gradients_20steps", "shuffled10"),
                     _row(results, "realistic", a, "grad_x_input", "none")) for a in archs}
    ig_vs_gxi = {a: pair for a, pair in ig_vs_gxi.items() if pair[0] is not None and pair[1] is not None}
    if ig_vs_gxi:
        findings.append({
            "finding": "Integrated Gradients can trail grad x input",
            "paper": "IG (straight-line path) sometimes below grad x input",
            "ours": "; ".join(f"{a}: IG 20 steps {ig.auprc_mean:.3f} vs grad x input {g.auprc_mean:.3f}"
                              + (" (tied)" if _tied(ig, g) else "") for a, (ig, g) in ig_vs_gxi.items()),
            "holds": any(ig.auprc_mean < g.auprc_mean and not _tied(ig, g) for ig, g in ig_vs_gxi.values()),
        })

    if {"basset", "beluga"} <= set(archs):
        for method, label in (("gradcam_last", "GradCAM (last conv)"), ("zheng", "GradCAM first layer x gradient")):
            gap = {a: _value(results, "realistic", a, "grad_x_input", "none") - _value(results, "realistic", a, method, "none")
                   for a in ("basset", "beluga")}
            findings.append({
                "finding": f"{label} is worst with short (8 bp) first-layer kernels",
                "paper": "Beluga-like (8 bp) worse than Basset-like (19 bp)",
                "ours": f"grad x input minus {label}: basset {gap['basset']:.3f}, beluga {gap['beluga']:.3f}",
                "holds": bool(gap["beluga"] > gap["basset"]),
            })

    if (results["dataset"] == "simple").any():
        # The GradCAM-based method reported to do well on simplified data is Zheng et al.'s (AgentBind).
        for arch in archs:
            gaps = {d: _value(results, d, arch, "grad_x_input", "none") - _value(results, d, arch, "zheng", "none")
                    for d in ("simple", "realistic")}
            findings.append({
                "finding": f"The GradCAM-based method of Zheng et al. looks acceptable on simple data but not on realistic data ({arch})",
                "paper": "its deficit against grad x input grows from simple to realistic data",
                "ours": f"grad x input minus Zheng: simple {gaps['simple']:.3f}, realistic {gaps['realistic']:.3f}",
                "holds": bool(gaps["realistic"] > gaps["simple"] + 0.02),
            })
    if best_shuffled:
        for arch in archs:
            zeros = _row(results, "realistic", arch, "deeplift", "zeros")
            shuf = _row(results, "realistic", arch, "deepshap", best_shuffled)
            if zeros is None or shuf is None:
                continue
            findings.append({
                "finding": f"Shuffled references beat the all-zeros reference for DeepLIFT ({arch})",
                "paper": "dinucleotide-shuffled references recommended",
                "ours": f"zeros {zeros.auprc_mean:.3f} vs {best_shuffled} {shuf.auprc_mean:.3f}",
                "holds": bool(shuf.auprc_mean > zeros.auprc_mean and not _tied(shuf, zeros)),
            })
    return findings


def paper_numbers_section(results: pd.DataFrame, paper: pd.DataFrame,
                          labels: dict) -> tuple[list[str], pd.DataFrame]:
    """Markdown lines of the paper's numbers beside ours, and the table behind them."""
    table = paper_comparison(results, paper)
    baseline_names = {c: labels.get((m, r), m) for c, (_, m, r) in BASELINES.items()}
    lines = ["## The paper's numbers beside ours", "",
             "The paper's values are those behind its bar charts, from the authors' notebooks (source of "
             "each number: `metrics/paper_numbers.tsv`): mean per-sequence auPRC over the top 10,000 "
             "positives of 400 bp DNase-seq peaks, averaged here over its five cell types (range in "
             "brackets). Absolute auPRCs depend on the share of motif bases in the data, so the comparable "
             "columns are the ratios to a baseline method scored on the same sequences "
             f"({', '.join(f'{c}: {n}' for c, n in baseline_names.items())}) and the ranks among the "
             "methods both sides ran (— : regsim has no counterpart). Ours: realistic dataset. The "
             "authors' GradCAM-family run is one cell type (A549) scored at the first conv layer.", "",
             "| comparison | arch | paper's method | ours | paper auPRC | paper ÷ baseline | ours auPRC | "
             "ours ÷ baseline | rank paper / ours |", "|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        spread = f" [{r.paper_min:.3f}–{r.paper_max:.3f}]" if r.n_cell_types > 1 else ""
        if r.method == "-":  # regsim has no counterpart
            ours_name = ours_value = ours_ratio = "—"
        elif pd.isna(r.ours_auprc):
            ours_name, ours_value, ours_ratio = labels.get((r.method, r.reference), r.method), "not run", "not run"
        else:
            ours_name = labels[(r.method, r.reference)]
            ours_value, ours_ratio = f"{r.ours_auprc:.3f} ± {r.ours_sem:.3f}", f"{r.ours_ratio:.2f}"
        rank = "" if pd.isna(r.paper_rank) else f"{int(r.paper_rank)} / {int(r.ours_rank)}"
        lines.append(f"| {r.comparison} | {r.arch} | {r.authors_method} | {ours_name} | {r.paper_auprc:.3f}{spread} | "
                     f"{r.paper_ratio:.2f} | {ours_value} | {ours_ratio} | {rank} |")
    lines.append("")
    return lines, table


def write_report(out: Path, results: pd.DataFrame, models: dict, figure_data: dict, *, settings: dict,
                 seconds: float) -> Path:
    """Write ``report.md`` and its figures; returns the report's path."""
    out = Path(out)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    baselines = {key: float(np.mean(data["masks"].mean(axis=1))) for key, data in figure_data.items()}
    realistic = {arch: data for (dataset, arch), data in figure_data.items() if dataset == "realistic"}
    paper = load_paper_numbers()

    lines = ["# regsim benchmark report", ""]
    lines += [f"Run time: {seconds / 60:.1f} min. Scored set: the top {int(results['n_sequences'].max())} "
              f"positives of the `{settings['split']}` split by each model's logit. Every score comes from "
              "`evaluate.load(\"metrics/motif_attribution\")` (absolute attributions, channels summed; ISM: "
              "minus the mean change over the 3 alternative bases). Seed "
              f"{settings['seed']}{'; QUICK MODE (smoke run, not for conclusions)' if settings['quick'] else ''}.", ""]

    lines += ["## Model accuracy (the paper's Table 1)", "",
              "| dataset | arch | test auROC | test auPRC | validation auPRC | epochs | train seconds |",
              "|---|---|---|---|---|---|---|"]
    for (dataset, arch), info in models.items():
        lines.append(f"| {dataset} | {arch} | {info.get('test_auroc', float('nan')):.3f} | "
                     f"{info.get('test_auprc', float('nan')):.3f} | {info.get('validation_auprc', float('nan')):.3f} | "
                     f"{info.get('epochs', '')} | {info.get('train_seconds', float('nan')):.0f} |")
    for (arch, cell_type), metrics in paper_model_accuracy(paper).items():
        lines += ["", f"The paper's {arch.capitalize()}-like model ({cell_type}, from the authors' notebooks): "
                  f"test auROC {metrics['test_auroc']:.3f}, test auPRC {metrics['test_auprc']:.3f} on a test split "
                  f"with {100 * metrics['test_positive_fraction']:.1f} % positives (auPRC is not comparable with "
                  "our balanced test split)."]
    lines += ["", "Random-score baseline (share of motif bases in the scored sequences; the auPRC of a random "
              "attribution): " + ", ".join(f"{d} / {a}: {v:.3f}" for (d, a), v in baselines.items()), ""]

    for group, (title, file_name) in GROUPS.items():
        table = comparison_table(results, group)
        if table.empty:
            continue
        _bar_chart(results, group, baselines, figures / file_name, title)
        lines += [f"## {title}", "", "Mean per-sequence auPRC ± SEM:", "", _markdown(table, "method"), "",
                  f"![{title}](figures/{file_name})", ""]

    lines += ["## Example sequences", ""]
    for arch, data in realistic.items():
        name = f"fig_tracks_realistic_{arch}.png"
        _tracks(data, figures / name)
        lines += [f"Attribution tracks (|score| per base) of {arch} on realistic data, ground-truth motif "
                  "instances in yellow:", "", f"![tracks {arch}](figures/{name})", ""]

    lines += ["## Logit along the Integrated Gradients path (the paper's Fig S10)", ""]
    for arch, data in realistic.items():
        name = f"fig_ig_path_{arch}.png"
        _ig_path_figure(data, figures / name)
        lines += [f"![IG path {arch}](figures/{name})", ""]

    labels = {(r.method, r.reference): r.label for r in results.itertuples()}
    section, comparison = paper_numbers_section(results, paper, labels)
    comparison.to_csv(out / "paper_comparison.csv", index=False)
    lines += section

    findings = paper_findings(results, baselines)
    lines += ["## The paper's findings beside ours", "",
              "The paper (Prakash, Shrikumar & Kundaje, MLCB 2021) reports its results as figures; the "
              "column 'paper' states each finding as published, 'ours' gives the measured numbers "
              "(mean per-sequence auPRC), and 'holds' whether our run reproduces the finding.", "",
              "| finding | paper | ours | holds |", "|---|---|---|---|"]
    for f in findings:
        lines.append(f"| {f['finding']} | {f['paper']} | {f['ours']} | {'yes' if f['holds'] else 'no'} |")
    held = sum(f["holds"] for f in findings)
    lines += ["", f"{held} of {len(findings)} checks hold.", ""]

    lines += ["## All runs", "", "| dataset | arch | method | reference | auROC (mean) | auPRC (mean ± SEM) | "
              "auPRC pooled | seconds | completeness max rel |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results.itertuples():
        completeness = "" if pd.isna(r.completeness_max_rel) else f"{r.completeness_max_rel:.1e}"
        lines.append(f"| {r.dataset} | {r.arch} | {r.method} | {r.reference} | {r.auroc_mean:.3f} | "
                     f"{r.auprc_mean:.3f} ± {r.auprc_sem:.3f} | {r.auprc_pooled:.3f} | {r.seconds:.1f} | {completeness} |")
    lines += ["", "Every column the metric returns is in `results.csv`.", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
