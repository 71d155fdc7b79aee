"""The ``motif_attribution`` evaluate metric: score attributions against ground-truth motifs.

A thin wrapper around :func:`._scoring.score_attributions` (also ``from regsim.metrics import
score_attributions``).  ``evaluate.load`` copies into its module cache only the sibling modules that
this file imports itself, written ``from ._name import ...`` at column 0, and it does not follow the
helpers' own imports: so every helper is imported here, even those only the core uses.  No comment
may follow these import lines (evaluate would read it as a download URL).
"""

import datasets
import evaluate

from ._base_resolution import CHANNEL_REDUCTIONS, CONV_MAPPINGS
from ._errors import MotifAttributionInputError
from ._inputs import REFERENCE_FORMATS, check_nesting
from ._localisation import relevance_mass_accuracy
from ._motif_recall import instance_percentiles
from ._pooled import HistogramPooled
from ._ranking import row_rank_metrics
from ._scoring import AttributionAccumulator, score_attributions

__all__ = [
    "AttributionAccumulator",
    "MotifAttribution",
    "MotifAttributionInputError",
    "score_attributions",
]
# Referenced so that linters keep the imports that make evaluate copy the helpers.
_HELPERS = (
    CHANNEL_REDUCTIONS, CONV_MAPPINGS, REFERENCE_FORMATS, relevance_mass_accuracy,
    instance_percentiles, HistogramPooled, row_rank_metrics,
)

_CITATION = """\
@inproceedings{prakash2021realistic,
  title     = {Towards More Realistic Simulated Datasets for Benchmarking Deep Learning Models in Regulatory Genomics},
  author    = {Prakash, Eva and Shrikumar, Avanti and Kundaje, Anshul},
  booktitle = {Machine Learning in Computational Biology (MLCB)},
  year      = {2021},
  url       = {https://www.biorxiv.org/content/10.1101/2021.12.26.474224}
}
@article{arras2022clevrxai,
  title   = {{CLEVR-XAI}: A benchmark dataset for the ground truth evaluation of neural network explanations},
  author  = {Arras, Leila and Osman, Ahmed and Samek, Wojciech},
  journal = {Information Fusion},
  volume  = {81},
  pages   = {14--40},
  year    = {2022}
}
@article{zhang2018topdown,
  title   = {Top-Down Neural Attention by Excitation Backprop},
  author  = {Zhang, Jianming and Bargal, Sarah Adel and Lin, Zhe and Brandt, Jonathan and Shen, Xiaohui and Sclaroff, Stan},
  journal = {International Journal of Computer Vision},
  volume  = {126},
  pages   = {1084--1102},
  year    = {2018}
}
"""

_DESCRIPTION = """\
Scores per-base attributions (ISM, gradient x input, Integrated Gradients, DeepLIFT/DeepSHAP,
GradCAM, gkm-SVM explanations, ...) against the known motif positions of simulated regulatory
sequences, following Prakash, Shrikumar & Kundaje (MLCB 2021): auROC and auPRC of |attribution|
against the 0/1 motif mask, pooled over all bases and per sequence, plus localisation metrics
(relevance mass and rank accuracy, top-k precision, pointing game) and, with interval references,
motif-instance recall. Ties get average ranks; the auPRC is scikit-learn's average precision.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: one attribution per sequence, shape (L,), (4, L) or (L, 4), or (L - k + 1,)
        for a conv layer with kernel_size=k. Lengths may differ between sequences.
    references: config "default": per-base 0/1 motif mask of shape (L,);
        config "intervals": a list of [start, end) motif intervals (0-based, half-open).
    sequences (optional): DNA strings or one-hot (4, L) arrays; needed by channel_reduce="observed",
        and they fix L for the "intervals" config.
    sequence_length (optional): L for the "intervals" config without sequences.
    channel_reduce: "sum" (default, as the paper), "observed" or "max_abs".
    abs: score |attribution| (default True, as the paper).
    kernel_size (optional): kernel width of conv-layer attributions.
    conv_mapping: "receptive_field" (default: mean over the conv positions covering a base) or "linear".
    top_k: k of top-k precision (default 10). pointing_tolerance: bases of slack (default 0).
    recall_quantile: share of motif-free windows an instance must beat (default 0.9).
    pooled: "exact" (default) or "histogram" (bounded memory, error bound reported).
    histogram_bits: mantissa bits of histogram bins (default 14).
    return_per_sequence: add per-sequence (and per-instance) values (default False).
    batch_size: sequences per internal batch (memory only, never the result). verbose: progress bar.
Returns:
    auroc_pooled, auprc_pooled, auroc_pooled_error_bound, auprc_pooled_error_bound,
    auroc_mean, auroc_sem, auprc_mean, auprc_sem,
    relevance_mass_accuracy, relevance_rank_accuracy, top_k_precision, pointing_game (each with _sem),
    n_sequences, n_scored, n_skipped (sequences whose mask is all 0 or all 1);
    config "intervals" adds motif_recall, motif_percentile_mean, n_instances, n_instances_skipped.
    All values are Python floats or ints; undefined values are NaN.
Examples:
    Motif bases with the largest attributions give auROC 1; a constant attribution gives 0.5:

    >>> import evaluate
    >>> from regsim.metrics import METRIC_PATH  # or the path of a copy of this folder
    >>> motif_attribution = evaluate.load(METRIC_PATH)
    >>> results = motif_attribution.compute(
    ...     predictions=[[0.1, 0.9, 0.8, 0.2, 0.0], [0.3, 0.3, 0.3, 0.3, 0.3]],
    ...     references=[[0, 1, 1, 0, 0], [0, 0, 1, 1, 0]],
    ... )
    >>> results["auroc_mean"], results["auprc_mean"], results["n_scored"]
    (0.75, 0.7, 2)
    >>> results["auroc_pooled"], results["pointing_game"]
    (0.875, 0.7)

    Per-channel (4, L) attributions are summed over channels; a sequence without motif is skipped:

    >>> results = motif_attribution.compute(
    ...     predictions=[[[0, 2, 0, 0], [0, 0, 0, 0], [0, 0, -1, 0], [0, 0, 0, 0]],
    ...                  [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]],
    ...     references=[[0, 1, 1, 0], [0, 0, 0, 0]],
    ... )
    >>> results["auroc_mean"], results["n_scored"], results["n_skipped"]
    (1.0, 1, 1)

    GradCAM-style attributions of a conv layer (length L - k + 1) reach the bases through kernel_size:

    >>> motif_attribution.compute(
    ...     predictions=[[0.0, 3.0, 0.0]], references=[[0, 1, 1, 1, 0]], kernel_size=3,
    ... )["auroc_mean"]
    1.0

    The "intervals" config takes [start, end) motif instances and adds motif-instance recall:

    >>> motif_intervals = evaluate.load(METRIC_PATH, "intervals")
    >>> results = motif_intervals.compute(
    ...     predictions=[[0.0] * 8 + [1.0] * 4 + [0.0] * 8, [0.0] * 4 + [0.5] * 16],
    ...     references=[[[8, 12]], [[0, 4]]],
    ... )
    >>> results["motif_recall"], results["n_instances"], results["auroc_mean"]
    (0.5, 2, 0.5)
"""


class MotifAttribution(evaluate.Metric):
    """Attribution vs ground-truth motif positions (see the module card, README.md)."""

    def _info(self):
        if self.config_name in ("default", "mask"):
            reference = datasets.Sequence(datasets.Value("float32"))
        elif self.config_name == "intervals":
            reference = datasets.Sequence(datasets.Sequence(datasets.Value("int64")))
        else:
            raise KeyError(
                f"motif_attribution has the configs 'default' (0/1 masks) and 'intervals', not {self.config_name!r}"
            )
        per_channel = datasets.Sequence(datasets.Sequence(datasets.Value("float64")))
        per_base = datasets.Sequence(datasets.Value("float64"))
        info = evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features({"predictions": per_channel, "references": reference}),
                datasets.Features({"predictions": per_base, "references": reference}),
            ],
            homepage="https://www.biorxiv.org/content/10.1101/2021.12.26.474224",
            reference_urls=[
                "https://www.biorxiv.org/content/10.1101/2021.12.26.474224",
                "https://doi.org/10.1016/j.inffus.2021.11.008",
                "https://doi.org/10.1007/s11263-017-1059-x",
            ],
        )
        # MetricInfo only accepts a format for flat Value features, so it is set afterwards: with
        # "arrow" _compute receives the stored columns as float64 Arrow arrays (zero-copy numpy
        # views), instead of millions of Python floats or the numpy formatter's float32 cast.
        info.format = "arrow"
        return info

    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """As ``evaluate.Metric.add_batch``, after checking the batch so that a bad one is refused with the
        example named, before anything is stored (the instance stays usable)."""
        check_nesting(predictions, "predictions")
        check_nesting(references, "references", allow_empty_examples=self.config_name == "intervals")
        return super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """As ``evaluate.Metric.add``, with :meth:`add_batch`'s checks."""
        if prediction is not None:
            check_nesting([prediction], "predictions")
        if reference is not None:
            check_nesting([reference], "references", allow_empty_examples=self.config_name == "intervals")
        return super().add(prediction=prediction, reference=reference, **kwargs)

    def _compute(
        self,
        predictions,
        references,
        sequences=None,
        sequence_length=None,
        channel_reduce="sum",
        abs=True,
        kernel_size=None,
        conv_mapping="receptive_field",
        top_k=10,
        pointing_tolerance=0,
        recall_quantile=0.9,
        pooled="exact",
        histogram_bits=14,
        return_per_sequence=False,
        batch_size=None,
        verbose=False,
    ):
        return score_attributions(
            predictions,
            references,
            reference_format="intervals" if self.config_name == "intervals" else "mask",
            sequences=sequences,
            sequence_length=sequence_length,
            channel_reduce=channel_reduce,
            abs=abs,
            kernel_size=kernel_size,
            conv_mapping=conv_mapping,
            top_k=top_k,
            pointing_tolerance=pointing_tolerance,
            recall_quantile=recall_quantile,
            pooled=pooled,
            histogram_bits=histogram_bits,
            return_per_sequence=return_per_sequence,
            batch_size=batch_size,
            verbose=verbose,
        )
