"""Every known difference between regsim's benchmark and the paper's experiment.

One entry per deviation: the area, what the paper did, what regsim does, why, and its measured effect
where one was measured (``None`` otherwise). :func:`differences_table` renders them; the report prints
that table and the README's "Differences from the paper" section holds the same lines (tested).
"""

from __future__ import annotations

#: (area, paper, regsim, reason, effect)
DIFFERENCES = [
    ("inputs", "DNase-seq peaks of five cell types (96,663-154,628 peaks each), 400 bp",
     "default: 3,897 Oct4 ChIP-seq peaks (positives) and 3,900 MafK peaks (background), 200 bp, embedded",
     "offline and within the main job's 30-minute budget on 2 cores",
     "absolute auPRCs are not comparable (the share of motif bases differs); the report compares ratios to "
     "a baseline method and ranks"),
    ("motifs and truth", "FIMO hits of JASPAR motifs; truth = motif instances found by re-scanning the simulated "
     "sequence", "JASPAR2024 CORE vertebrates (879 latest versions), a FIMO-identical scan (p < 1e-4); truth = "
     "pasted instances plus a re-scan of the simulated sequence", "the current JASPAR release", None),
    ("enrichment weight", "text: inverse square of the distance from the centre; authors' code: "
     "(W/2 - |W/2 - start|)^2 on the hit start",
     "`--enrichment-weight authors` (default; the code that produced the published data), `paper`, `linear`",
     "the published data came from the code", "see the retained-motif comparison in the README"),
    ("motif filter", "min 1,000 positive hits (of 96,663-154,628 peaks), enrichment >= 1.25, every motif passing",
     "min max(10, 2 % of positives) hits, enrichment >= 1.25, then at most `--max-motifs` 20 (0: the paper's)",
     "3,897 peaks cannot give 1,000 hits for most motifs; without the cap 325 redundant motifs cover 67 % of "
     "positive bases", "with 20 motifs the truth covers 17 % of positive and 7 % of negative bases"),
    ("scored set", "top 10,000 simulated TRAINING positives ranked by the Beluga-like model, same set for every model",
     "same rule: top `--n-top` positives of `--split` (default train) ranked by the Beluga-like model",
     "the realistic dataset has 2,484 training positives", "n is stated in the report"),
    ("models", "Basset and DeepSEA-Beluga initialised from public weights and fine-tuned, full width",
     "trained from scratch at width x0.5 (Basset-like) and x0.25 (Beluga-like)",
     "no public weights offline; training time", "see Table 1 beside the paper's"),
    ("early stopping", "test-set auROC", "validation auPRC; the test split is scored once at the end",
     "selecting on the test set leaks it into the reported accuracy", None),
    ("training", "the authors' fine-tuning scripts (batch size, augmentation not restated here)",
     "per-preset recipes (`RECIPES` in models/train.py): AdamW (weight decay 0.1), learning rate 1e-3 halved "
     "after 2 epochs without a better validation auPRC, batch 64 (half positives), reverse complements and "
     "random shifts of up to 10 bp, at most 40 epochs, patience 8; Basset-like dense dropout 0.5, Beluga-like "
     "batch norm after every convolution",
     "trained from scratch, the presets over-fitted (Basset-like) or stayed at the constant output "
     "(Beluga-like) with plain Adam",
     "main job, test auROC: realistic Basset-like 0.857-0.868 (old recipe 0.791), Beluga-like 0.876-0.903, "
     "reference CNN 0.853; simple Basset-like 0.834 against the reference's 0.910 (flagged; README, Recipes)"),
    ("gkm-SVM", "lsgkm `wgkm` kernel (-t 4), L=11, k=7, d=3, 20,000 + 20,000 training sequences",
     "gkmsvm-lite `gkm_esttrunc` (lsgkm -t 2), L=11, k=7, d=3, 1,000 + 1,000 training sequences",
     "gkmsvm-lite 0.1.0's `wgkm` weights positions inside each l-mer, not lsgkm's; training cost grows with the "
     "square of the training set", "see the gkm-SVM row of Table 1"),
    ("seeds", "one model per architecture and cell type", "`--seeds K` models per architecture and dataset",
     "one model is one sample: auROC and scores move between trainings", "the report gives the spread over seeds"),
    ("DeepLIFT", "Rescale everywhere (rsall) or RevealCancel on dense layers (rsconv); the authors' Keras "
     "conversion used the gradient rule at max-pool layers",
     "Rescale everywhere (`deepshap`) and RevealCancel on the dense layers (`deepshap_rsconv`), both with an "
     "exact max-pool rule (summation to delta within 1e-4)",
     "exactness (tested)", "paper: rsall and rsconv differ by at most 0.019 (Fig 2); ours: see the methods table"),
    ("Integrated Gradients", "20 steps, 20 dinucleotide-shuffled references",
     "20 (and 10) steps, Gauss-Legendre quadrature, 10 shuffled references", "cost: steps x references passes",
     None),
    ("GradCAM", "the authors' code averages gradients over channels (exact A549: 0.313)",
     "Selvaraju et al.'s definition: channel weight = position-averaged gradient",
     "the published definition", None),
    ("last-layer mapping", "linear interpolation of last-conv-layer scores",
     "linear interpolation between receptive-field centres (default; `--conv-mapping average`: receptive-field "
     "averaging)", "averaging over the Beluga-like last layer's few wide receptive fields flattens every track",
     "see the last-layer geometry section"),
    ("statistics", "bars of mean per-sequence auPRC, one model",
     "paired per-sequence differences, Wilcoxon signed-rank p < 0.05 for every better/tied statement",
     "every method is scored on the same sequences", None),
]


def differences_table() -> list[str]:
    """The markdown table of :data:`DIFFERENCES`: header, separator, one line per entry."""
    lines = ["| what | paper | regsim | why | measured effect |", "|---|---|---|---|---|"]
    for entry in DIFFERENCES:
        lines.append("| " + " | ".join(str(cell or "—").replace("|", "\\|") for cell in entry) + " |")
    return lines
