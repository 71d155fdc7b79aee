"""What the benchmark runs: the paper's method x reference grid and how each output is scored.

Names are those of ``regsim attribute`` (:data:`models.attribution.attribute.METHODS`). Each run
belongs to one or more of the report's comparisons: ``methods`` (the paper's Fig 2), ``references``
(Fig 3) and ``gradcam`` (Fig 4). Integrated Gradients integrates from the same dinucleotide-shuffled
references as DeepLIFT (10 per sequence, to bound its cost: steps x references passes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    method: str
    reference: str
    label: str
    groups: tuple[str, ...]


FULL_RUNS = [
    Run("grad_x_input", "none", "grad x input", ("methods", "gradcam")),
    Run("grad_x_input_offsimplex", "none", "grad x input (off-simplex corrected)", ("methods",)),
    Run("saliency", "none", "saliency (gradient)", ("methods",)),
    Run("saliency_offsimplex", "none", "saliency (off-simplex corrected)", ("methods",)),
    Run("integrated_gradients_10steps", "shuffled10", "IG, 10 steps", ("methods",)),
    Run("integrated_gradients_20steps", "shuffled10", "IG, 20 steps", ("methods",)),
    Run("ism", "none", "ISM", ("methods",)),
    Run("deeplift", "zeros", "DeepLIFT, zeros reference", ("references",)),
    Run("deeplift", "base_freq", "DeepLIFT, base-frequency reference", ("references",)),
    Run("deepshap", "shuffled10", "DeepLIFT, 10 shuffled references", ("references",)),
    Run("deepshap", "shuffled20", "DeepLIFT, 20 shuffled references", ("methods", "references")),
    Run("deepshap", "shuffled50", "DeepLIFT, 50 shuffled references", ("references",)),
    Run("deepshap_rsconv", "shuffled20", "DeepLIFT RSConv (RevealCancel on dense layers), 20 shuffled references",
        ("methods",)),
    Run("gradcam_last", "none", "GradCAM, last conv layer", ("methods", "gradcam")),
    Run("gradcam_first", "none", "GradCAM, first conv layer", ("gradcam",)),
    Run("zheng", "none", "GradCAM first layer x input gradient (Zheng et al.)", ("gradcam",)),
    Run("grad_x_act_first", "none", "grad x activation, first conv layer", ("gradcam",)),
    Run("deeplift_first", "shuffled20", "DeepLIFT at the first conv layer, 20 shuffled references", ("gradcam",)),
]

# Runs on the dataset's gkm-SVM instead of the CNN (the same SVM beside each CNN, as the paper).
GKMSVM_RUNS = [Run("gkmexplain", "none", "GkmExplain (gkm-SVM)", ("methods",))]


def quick_runs(n_refs: int) -> list[Run]:
    """The ``--quick`` grid: every method, one shuffled-reference count."""
    shuffled = f"shuffled{n_refs}"
    runs = []
    seen = set()
    for run in FULL_RUNS:
        reference = shuffled if run.reference.startswith("shuffled") else run.reference
        label = run.label.replace("10 shuffled", f"{n_refs} shuffled").replace("20 shuffled", f"{n_refs} shuffled")
        key = (run.method, reference)
        if key in seen:
            continue
        seen.add(key)
        runs.append(Run(run.method, reference, label, run.groups))
    return runs


def scoring_input(method: str, arrays: dict):
    """The per-base scores the metric receives for one run, and the metric keyword arguments.

    ISM is scored with its per-base importance (minus the mean change over the 3 alternatives, the
    paper's score); saliency (a raw gradient, non-zero on all 4 channels) with its largest-magnitude
    channel; every other ``(N, 4, L)`` output with the sum over channels (contribution scores
    are zero off the observed base, so this is the observed base's score); base-level outputs as they
    are. ``abs=True`` throughout, as the paper.
    """
    if method == "ism":
        return arrays["importance"], {}
    if method.startswith("saliency"):
        return arrays["attributions"], {"channel_reduce": "max_abs"}
    return arrays["attributions"], {"channel_reduce": "sum"}


#: Runs scored at a conv layer and mapped back to bases; the first layer is always averaged over
#: covering positions (the paper's choice there), the last layer follows the benchmark's setting.
FIRST_LAYER_METHODS = {"gradcam_first", "zheng", "grad_x_act_first", "deeplift_first"}
LAST_LAYER_METHODS = {"gradcam_last"}


def conv_mapping_of(method: str, last_layer_mapping: str) -> str:
    """How ``method``'s layer scores reach the bases: ``"average"``, ``"linear"`` or ``"-"`` (base-level)."""
    if method in LAST_LAYER_METHODS:
        return last_layer_mapping
    return "average" if method in FIRST_LAYER_METHODS else "-"
