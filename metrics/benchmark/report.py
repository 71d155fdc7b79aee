"""The benchmark report: ``report.md`` with tables and PNG figures, from the results table.

Figures (in ``<out>/figures/``): one bar chart per comparison (the paper's Fig 2 methods, Fig 3
references, Fig 4 GradCAM family), attribution tracks of example sequences under their ground-truth
motifs, and the logit along the Integrated Gradients path (the paper's Fig S10). The last sections
put the paper's published numbers (:mod:`.paper_numbers`) beside ours, check its findings against
the measured numbers (every "better"/"tied" from the paired tests of :mod:`.paired`, and a finding
holds only if it holds for every seed), and list every difference from the paper (:mod:`.differences`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .ceiling import ceiling_section, without_flagged
from .paired import lookup, verdict
from .paper_numbers import load_paper_numbers, paper_auprcs, paper_comparison, paper_model_accuracy
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


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset x arch x run: ``auprc_mean`` averaged over seeds, ``auprc_sem`` (one seed:
    the per-sequence SEM; several: the SEM over seeds), ``auprc_min``/``auprc_max`` over seeds, ``n_seeds``."""
    results = results if "seed" in results else results.assign(seed=0)
    keys = ["dataset", "arch", "method", "reference", "label", "groups"]
    rows = []
    for key, part in results.groupby(keys, sort=False):
        values = part["auprc_mean"].to_numpy(dtype=float)
        sem = float(part["auprc_sem"].iloc[0]) if len(values) == 1 else float(values.std(ddof=1) / np.sqrt(len(values)))
        rows.append({**dict(zip(keys, key)), "auprc_mean": float(values.mean()), "auprc_sem": sem,
                     "auprc_min": float(values.min()), "auprc_max": float(values.max()), "n_seeds": len(values)})
    return pd.DataFrame(rows)


def _cell(r) -> str:
    if r.n_seeds == 1:
        return f"{r.auprc_mean:.3f} ± {r.auprc_sem:.3f}"
    return f"{r.auprc_mean:.3f} [{r.auprc_min:.3f}–{r.auprc_max:.3f}]"


def comparison_table(results: pd.DataFrame, group: str) -> pd.DataFrame:
    """Rows: runs of ``group``; columns: ``dataset / arch``; cells: mean per-sequence auPRC ± SEM (one
    seed) or the mean over seeds [min–max over seeds]."""
    summary = summarise(results)
    rows = summary[summary["groups"].str.split(",").apply(lambda g: group in g)]
    table = {}
    for (dataset, arch), part in rows.groupby(["dataset", "arch"], sort=False):
        table[_column(dataset, arch)] = {r.label: _cell(r) for r in part.itertuples()}
    return pd.DataFrame(table)


def _markdown(frame: pd.DataFrame, index_name: str) -> str:
    columns = [index_name, *frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *[str(v) for v in row.values]]) + " |")
    return "\n".join(lines)


def _bar_chart(results: pd.DataFrame, group: str, baselines: dict, path: Path, title: str) -> None:
    plt = _plt()
    summary = summarise(results)
    rows = summary[summary["groups"].str.split(",").apply(lambda g: group in g)]
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


def _seeds(results: pd.DataFrame) -> list:
    return sorted(results["seed"].unique()) if "seed" in results else [0]


def _mean(results, dataset, arch, method, reference) -> float:
    rows = results[(results["dataset"] == dataset) & (results["arch"] == arch) & (results["method"] == method)
                   & (results["reference"] == reference)]
    return float(rows["auprc_mean"].mean()) if len(rows) else float("nan")


def _describe(row) -> str:
    if row is None:
        return "not run"
    return f"{row['mean_diff']:+.3f} ± {row['sem_diff']:.3f} (p = {row['p_value']:.2g})"


GXI = ("grad_x_input", "none")
DL20 = ("deepshap", "shuffled20")
IG20 = ("integrated_gradients_20steps", "shuffled10")
ISM = ("ism", "none")
ZHENG = ("zheng", "none")
GRADCAM_LAST = ("gradcam_last", "none")
GRADCAM_FIRST = ("gradcam_first", "none")
GXA_FIRST = ("grad_x_act_first", "none")
REFERENCES = {"zeros": ("deeplift", "zeros"), "base_freq": ("deeplift", "base_freq"),
              "shuffled10": ("deepshap", "shuffled10"), "shuffled20": DL20, "shuffled50": ("deepshap", "shuffled50")}


def _finding(name, paper, per_seed: dict, seeds) -> dict | None:
    """``per_seed``: seed -> (holds or None when not measurable, text). Holds only if it holds for every seed."""
    measured = {s: v for s, v in per_seed.items() if v[0] is not None}
    if not measured:
        return None
    held = [s for s, (ok, _) in measured.items() if ok]
    first = measured[min(measured)][1]
    seeds_note = "" if len(seeds) == 1 else f" [seed {min(measured)}; holds for {len(held)} of {len(measured)} seeds]"
    return {"finding": name, "paper": paper, "ours": first + seeds_note, "holds": len(held) == len(measured)}


def paper_findings(results: pd.DataFrame, paired: pd.DataFrame, models: dict | None = None,
                   paper: pd.DataFrame | None = None) -> list[dict]:
    """The published paper's findings, each checked against this run.

    Every "better"/"worse"/"tied" comes from :func:`.paired.verdict` (Wilcoxon signed-rank on the
    per-sequence auPRC differences, p < 0.05) on the realistic dataset; a finding holds only if it holds
    for every seed. The paper's side of each finding is derived from ``paper_numbers.tsv``.
    """
    paper = load_paper_numbers() if paper is None else paper
    seeds = _seeds(results)
    archs = list(dict.fromkeys(results.loc[results["dataset"] == "realistic", "arch"]))
    findings = []

    def v(seed, arch, a, b):
        row = lookup(paired, "realistic", arch, seed, a, b)
        return verdict(row), row

    def add(name, paper_text, check):
        found = _finding(name, paper_text, {s: check(s) for s in seeds}, seeds)
        if found:
            findings.append(found)

    for arch in archs:
        fig2 = paper_auprcs(paper, "Fig2_methods", arch)
        fig3 = paper_auprcs(paper, "Fig3_deeplift_rsall_references", arch)
        fig4 = paper_auprcs(paper, "Fig4_gradcam_family", arch)

        def best(seed, arch=arch):
            rivals = [GXI, IG20, ISM, ZHENG, GRADCAM_LAST]
            outcomes = [(r, *v(seed, arch, DL20, r)) for r in rivals]
            outcomes = [(r, o, row) for r, o, row in outcomes if o != "n/a"]
            if not outcomes:
                return None, ""
            text = "; ".join(f"minus {r[0]} {_describe(row)}" for r, _, row in outcomes)
            return all(o != "worse" for _, o, _ in outcomes), f"DeepLIFT-20 {text}"
        add(f"DeepLIFT with 20 shuffled references is the best method ({arch})",
            "a DeepLIFT variant is the best network method in all 5 cell types (Fig 2)", best)

        def second(seed, arch=arch):
            above = [v(seed, arch, ISM, r) for r in (GXI, IG20)]
            top = v(seed, arch, DL20, ISM)
            if any(o == "n/a" for o, _ in above) or top[0] == "n/a":
                return None, ""
            ok = all(o == "better" for o, _ in above) and top[0] != "worse"
            return ok, (f"ISM minus grad x input {_describe(above[0][1])}; minus IG {_describe(above[1][1])}; "
                        f"DeepLIFT-20 minus ISM {_describe(top[1])}")
        add(f"ISM is second, behind or level with DeepLIFT ({arch})",
            "ISM above grad x input and IG in all 5 cell types, below or level with DeepLIFT (Fig 2)", second)

        below = int((fig2["ig20_shuff20"] < fig2["grad_x_input"]).sum())
        expected = "worse" if below > len(fig2) / 2 else "better"

        def ig(seed, arch=arch, expected=expected):
            o, row = v(seed, arch, IG20, GXI)
            return (None, "") if o == "n/a" else (o == expected, f"IG 20 steps minus grad x input {_describe(row)}")
        add(f"Integrated Gradients is {'below' if expected == 'worse' else 'above'} grad x input ({arch})",
            f"IG below grad x input in {below} of {len(fig2)} cell types (Fig 2)", ig)

        ratio = float((fig4["gradcam_last_conv"] / fig2["grad_x_input"]).max())

        def gradcam(seed, arch=arch, ratio=ratio):
            o, row = v(seed, arch, GRADCAM_LAST, GXI)
            if o == "n/a":
                return None, ""
            ours = _mean(results[results["seed"] == seed], "realistic", arch, *GRADCAM_LAST) / \
                _mean(results[results["seed"] == seed], "realistic", arch, *GXI)
            return (o == "worse" and ours < 0.75,
                    f"GradCAM (last) / grad x input {ours:.2f}; difference {_describe(row)}")
        add(f"Last-layer GradCAM is poor ({arch})",
            f"GradCAM (last conv) at most {ratio:.2f} x grad x input in every cell type (Fig 4 / Fig 2)", gradcam)

        def zeros(seed, arch=arch):
            o, row = v(seed, arch, DL20, REFERENCES["zeros"])
            return (None, "") if o == "n/a" else (o == "better", f"shuffled20 minus zeros {_describe(row)}")
        add(f"20 shuffled references beat the zeros reference ({arch})",
            "in all 5 cell types (Fig 3)", zeros)

        def more(seed, arch=arch):
            steps = [v(seed, arch, REFERENCES[b], REFERENCES[a]) for a, b in (("shuffled10", "shuffled20"),
                                                                               ("shuffled20", "shuffled50"))]
            if any(o == "n/a" for o, _ in steps):
                return None, ""
            return (all(o != "worse" for o, _ in steps),
                    f"20 minus 10: {_describe(steps[0][1])}; 50 minus 20: {_describe(steps[1][1])}")
        add(f"More shuffled references never hurt ({arch})", "10 <= 20 <= 50 in all 5 cell types (Fig 3)", more)

        worst = str(fig3.mean().idxmin())

        def worst_ref(seed, arch=arch, worst=worst):
            outcomes = [v(seed, arch, REFERENCES[worst], REFERENCES[r]) for r in REFERENCES if r != worst]
            if any(o == "n/a" for o, _ in outcomes):
                return None, ""
            means = {r: _mean(results[results["seed"] == seed], "realistic", arch, *REFERENCES[r]) for r in REFERENCES}
            return (all(o != "better" for o, _ in outcomes),
                    "lowest: " + ", ".join(f"{r} {m:.3f}" for r, m in sorted(means.items(), key=lambda kv: kv[1])[:2]))
        add(f"The {worst} reference is the worst ({arch})", f"{worst} lowest on average over 5 cell types (Fig 3)",
            worst_ref)

    if {"basset", "beluga"} <= set(archs):
        b4, e4 = (paper_auprcs(paper, "Fig4_gradcam_family", a) for a in ("basset", "beluga"))
        gap = float((b4["gradcam_last_conv"] - e4["gradcam_last_conv"]).abs().max())

        def equal(seed):
            row = lookup(paired, "realistic", "basset - beluga", seed, GRADCAM_LAST, GRADCAM_LAST)
            if row is None:
                return None, ""
            return (verdict(row) == "tied" or abs(row["mean_diff"]) <= 0.02,
                    f"Basset-like minus Beluga-like {_describe(row)}")
        add("Last-layer GradCAM is equally poor for both architectures",
            f"within {gap:.3f} of each other in every cell type (Fig 4)", equal)

        first_ratio = float((e4["gradcam_first_conv"] / e4["grad_x_act_first_conv"]).max())

        def short_kernels(seed, limit=first_ratio):
            o, row = v(seed, "beluga", GRADCAM_FIRST, GXA_FIRST)
            cross = lookup(paired, "realistic", "basset - beluga", seed, GRADCAM_FIRST, GRADCAM_FIRST)
            if o == "n/a" or cross is None:
                return None, ""
            part = results[results["seed"] == seed]
            ratio = _mean(part, "realistic", "beluga", *GRADCAM_FIRST) / _mean(part, "realistic", "beluga", *GXA_FIRST)
            return (o == "worse" and ratio <= limit and verdict(cross) == "better",
                    f"Beluga-like GradCAM (first) / grad x activation {ratio:.2f}; Basset-like minus Beluga-like "
                    f"{_describe(cross)}")
        add("First-layer GradCAM fails with 8-bp kernels, much less with 19-bp kernels",
            f"Beluga-like at most {first_ratio:.2f} x grad x activation; Basset-like higher in every cell type (Fig 4)",
            short_kernels)

        def zheng(seed):
            cross = lookup(paired, "realistic", "basset - beluga", seed, ZHENG, ZHENG)
            return (None, "") if cross is None else (verdict(cross) == "better",
                                                       f"Basset-like minus Beluga-like {_describe(cross)}")
        add("Zheng et al.'s first-layer method is better with 19-bp than with 8-bp kernels",
            f"Basset-like {b4['zheng'].mean():.3f}, Beluga-like {paper_auprcs(paper, 'Fig2_methods', 'beluga')['zheng'].mean():.3f} "
            "(mean of 5 cell types, Fig 2)", zheng)

    if (results["dataset"] == "simple").any():
        for arch in archs:
            def simple(seed, arch=arch):
                rows = {d: lookup(paired, d, arch, seed, GXI, ZHENG) for d in ("simple", "realistic")}
                if any(r is None for r in rows.values()):
                    return None, ""
                diff = rows["realistic"]["mean_diff"] - rows["simple"]["mean_diff"]
                sem = float(np.hypot(rows["realistic"]["sem_diff"], rows["simple"]["sem_diff"]))
                return (diff > 2 * sem, f"grad x input minus Zheng: simple {_describe(rows['simple'])}, "
                        f"realistic {_describe(rows['realistic'])}")
            add(f"Zheng et al.'s method loses more to grad x input on realistic than on simple data ({arch})",
                "stated in the paper's text (no figure); different sequences, so an unpaired 2-SEM rule", simple)

    if models and {"basset", "beluga"} <= set(archs):
        table1 = paper_model_accuracy(paper)
        beluga_wins = int((table1.loc["beluga", "test_auroc"] > table1.loc["basset", "test_auroc"]).sum())

        def accuracy(seed):
            a = models.get(("realistic", "beluga", seed), {}).get("test_auroc")
            b = models.get(("realistic", "basset", seed), {}).get("test_auroc")
            return (None, "") if a is None or b is None else (a > b, f"test auROC Beluga-like {a:.3f}, Basset-like {b:.3f}")
        add("The Beluga-like model is the more accurate",
            f"higher test auROC in {beluga_wins} of {len(table1.loc['beluga'])} cell types (Table 1)", accuracy)
    return findings


def last_layer_geometry(model, length: int, n_draws: int = 200) -> dict:
    """The last conv layer's positions and receptive fields at ``length`` bp, and how flat a random
    position score becomes at the bases under each mapping (coefficient of variation over bases,
    mean over ``n_draws`` uniform draws; seeded)."""
    from regsim.models.attribution._common import resolve_layer
    from regsim.models.attribution.receptive_field import receptive_field

    module = resolve_layer(model, "last")
    field = receptive_field(model, module, length)
    widths = field.stop - field.start
    draws = np.random.default_rng(0).random((n_draws, len(field.start)))
    cv = {}
    for mapping in ("average", "linear"):
        bases = field.to_bases(draws, mapping).astype(np.float64)
        cv[mapping] = float(np.mean(bases.std(axis=1) / bases.mean(axis=1)))
    return {"positions": len(field.start), "width_min": int(widths.min()), "width_max": int(widths.max()),
            "cv_average": cv["average"], "cv_linear": cv["linear"]}


def paper_numbers_section(results: pd.DataFrame, paper: pd.DataFrame,
                          labels: dict) -> tuple[list[str], pd.DataFrame]:
    """Markdown lines of the paper's numbers beside ours, and the table behind them."""
    table = paper_comparison(results, paper)
    n_seeds = int(table["n_seeds"].max()) if len(table) else 0
    lines = ["## The paper's numbers beside ours", "",
             "The paper's values are its published figures (bar heights measured against the gridlines, "
             "± 0.005; `metrics/benchmark/paper_numbers.tsv`, a verbatim copy of the published values with "
             "their provenance): mean per-sequence auPRC over the top 10,000 training positives of 400 bp "
             "DNase-seq peaks, averaged here over its five cell types (range in brackets). Absolute auPRCs "
             "depend on the share of motif bases in the data, so the comparable columns are the ratios to a "
             "baseline method scored on the same sequences (Fig 2, 3, S9: grad x input; Fig 4: grad x "
             "activation at the first conv layer) and the ranks among the methods both sides ran (— : regsim "
             "has no counterpart). Ours: realistic dataset"
             + (f", mean over {n_seeds} seeds (ratio range over seeds in brackets)." if n_seeds > 1 else "."), "",
             "| figure | arch | paper's method | ours | paper auPRC | paper ÷ baseline | ours auPRC | "
             "ours ÷ baseline | rank paper / ours |", "|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        spread = f" [{r.paper_min:.3f}–{r.paper_max:.3f}]" if r.n_cell_types > 1 else ""
        if r.regsim_method == "-":
            ours_name = ours_value = ours_ratio = "—"
        elif pd.isna(r.ours_mean):
            ours_name, ours_value, ours_ratio = labels.get((r.regsim_method, r.regsim_reference), r.regsim_method), \
                "not run", "not run"
        else:
            ours_name = labels[(r.regsim_method, r.regsim_reference)]
            ours_value = f"{r.ours_mean:.3f}"
            ours_ratio = f"{r.ours_ratio:.2f}" + (f" [{r.ours_ratio_min:.2f}–{r.ours_ratio_max:.2f}]"
                                                  if r.n_seeds > 1 else "")
        rank = "" if pd.isna(r.paper_rank) else f"{int(r.paper_rank)} / {int(r.ours_rank)}"
        lines.append(f"| {r.figure} | {r.arch} | {r.method} | {ours_name} | {r.paper_mean:.3f}{spread} | "
                     f"{r.paper_ratio:.2f} | {ours_value} | {ours_ratio} | {rank} |")
    lines.append("")
    return lines, table


def write_report(out: Path, results: pd.DataFrame, models: dict, figure_data: dict, *, settings: dict,
                 seconds: float, paired: pd.DataFrame, scored_sets: dict,
                 cache_counts: tuple[int, int] | None = None) -> Path:
    """Write ``report.md``, ``paper_comparison.csv`` and the figures; returns the report's path.

    ``models`` maps ``(dataset, arch, seed)`` to the model's eval results; ``cache_counts`` is
    ``(reused, computed)`` stage-cache entries, so that the run time of a re-run is not read as the
    cost of the whole benchmark.
    """
    from .differences import differences_table

    out = Path(out)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    baselines = {key: float(np.mean(data["masks"].mean(axis=1))) for key, data in figure_data.items()}
    realistic = {arch: data for (dataset, arch), data in figure_data.items() if dataset == "realistic"}
    paper = load_paper_numbers()
    seeds = _seeds(results)

    lines = ["# regsim benchmark report", ""]
    reuse = ""
    if cache_counts is not None:
        reused, computed = cache_counts
        reuse = (f" ({computed} stage results computed, {reused} reused from the cache"
                 f"{': a re-run, not the cost of the benchmark' if reused > computed else ''})")
    lines += [f"Run time: {seconds / 60:.1f} min{reuse}. Seeds: {', '.join(map(str, seeds))} ({len(seeds)} model(s) per "
              "architecture and dataset; a finding counts as reproduced only if it holds for every seed). "
              "Every score comes from the `motif_attribution` evaluate module (absolute attributions, "
              "channels summed; ISM: minus the mean change over the 3 alternative bases); last-conv-layer scores "
              f"map to bases by `{settings['conv_mapping']}` "
              f"{'interpolation' if settings['conv_mapping'] == 'linear' else 'receptive-field averaging'}, "
              "first-layer ones by averaging over covering positions."
              f"{' QUICK MODE (smoke run, not for conclusions).' if settings['quick'] else ''}", "",
              "Scored sets (one per dataset, the same sequences for every model, as the paper):", ""]
    for dataset, info in scored_sets.items():
        lines.append(f"- {dataset}: the top {info['n']} positives of the `{info['split']}` split ranked by the "
                     f"{info['ranker']} model (seed {seeds[0]}); sha256 of the sorted ids `{info['sha256'][:16]}…`")
    lines.append("")

    lines += ["## Model accuracy (the paper's Table 1)", "",
              "| dataset | arch | seed | test auROC | test auPRC | validation auPRC | epochs | train seconds |",
              "|---|---|---|---|---|---|---|---|"]
    for (dataset, arch, seed), info in models.items():
        lines.append(f"| {dataset} | {arch} | {seed} | {info.get('test_auroc', float('nan')):.3f} | "
                     f"{info.get('test_auprc', float('nan')):.3f} | {info.get('validation_auprc', float('nan')):.3f} | "
                     f"{info.get('epochs', '')} | {info.get('train_seconds', float('nan')):.0f} |")
    table1 = paper_model_accuracy(paper)
    lines += ["", "The paper's Table 1 (test split with 11.8 % positives in A549, so its auPRC is not comparable "
              "with our balanced test split): " + "; ".join(
                  f"{arch}-like test auROC {table1.loc[arch, 'test_auroc'].min():.3f}–"
                  f"{table1.loc[arch, 'test_auroc'].max():.3f} over its 5 cell types"
                  for arch in dict.fromkeys(table1.index.get_level_values(0))) + ".", ""]
    lines += [*ceiling_section(models, figures), ""]  # reference models, flags, training curves
    lines += ["Random-score baseline (share of motif bases in the scored sequences; the auPRC of a random "
              "attribution): " + ", ".join(f"{d} / {a}: {v:.3f}" for (d, a), v in baselines.items()), ""]

    for group, (title, file_name) in GROUPS.items():
        table = comparison_table(results, group)
        if table.empty:
            continue
        _bar_chart(results, group, baselines, figures / file_name, title)
        how = "± per-sequence SEM" if len(seeds) == 1 else "[min–max over seeds]"
        lines += [f"## {title}", "", f"Mean per-sequence auPRC {how}:", "", _markdown(table, "method"), "",
                  f"![{title}](figures/{file_name})", ""]

    lines += ["## Last-layer geometry", "",
              "Last-conv-layer scores (GradCAM) have one value per layer position; each position reads a "
              "receptive field of the input. Averaging over the covering receptive fields turns any score into "
              "a nearly flat track when the layer has few, wide positions; linear interpolation between "
              "receptive-field centres (the paper's mapping) keeps the positions' contrast. Coefficient of "
              "variation over bases of uniformly random position scores, mapped each way (mean of 200 draws):", "",
              "| arch | last-layer positions | receptive field (bp) | CV, averaging | CV, linear |", "|---|---|---|---|---|"]
    for arch, data in realistic.items():
        g = last_layer_geometry(data["model"], data["X"].shape[-1])
        lines.append(f"| {arch} | {g['positions']} | {g['width_min']}–{g['width_max']} | {g['cv_average']:.3f} | "
                     f"{g['cv_linear']:.3f} |")
    lines.append("")

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
    comparison.to_csv(out / "paper_comparison.csv", index=False, float_format="%.6g")
    lines += section

    # flagged models: reported above, not used for the findings
    findings = paper_findings(without_flagged(results, models), without_flagged(paired, models), models, paper)
    lines += ["## The paper's findings beside ours", "",
              "'paper' states each finding of the published figures (derived from `paper_numbers.tsv`); 'ours' "
              "gives the paired per-sequence auPRC differences of this run (mean ± SEM, Wilcoxon signed-rank p; "
              "all pairs in `paired_tests.csv`). A difference with p < 0.05 is better/worse, otherwise tied; a "
              "finding holds only if it holds for every seed.", "",
              "| finding | paper | ours | holds |", "|---|---|---|---|"]
    for f in findings:
        lines.append(f"| {f['finding']} | {f['paper']} | {f['ours']} | {'yes' if f['holds'] else 'no'} |")
    held = sum(f["holds"] for f in findings)
    lines += ["", f"{held} of {len(findings)} checks hold.", ""]

    lines += ["## Differences from the paper", "", *differences_table(), ""]

    lines += ["## All runs", "", "| dataset | arch | seed | method | reference | auROC (mean) | auPRC (mean ± SEM) | "
              "auPRC pooled | seconds | completeness max rel |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results.itertuples():
        completeness = "" if pd.isna(r.completeness_max_rel) else f"{r.completeness_max_rel:.1e}"
        lines.append(f"| {r.dataset} | {r.arch} | {r.seed} | {r.method} | {r.reference} | {r.auroc_mean:.3f} | "
                     f"{r.auprc_mean:.3f} ± {r.auprc_sem:.3f} | {r.auprc_pooled:.3f} | {r.seconds:.1f} | {completeness} |")
    lines += ["", "Every column the metric returns is in `results.csv`.", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
