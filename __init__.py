"""regsim: realistic simulated regulatory-genomics datasets with a known per-base truth, CNNs trained on
them, and a benchmark of attribution methods scored against that truth.

The Python API mirrors the ``regsim`` command (names are imported on first use, so ``import regsim``
stays cheap):

=========================  =============================================================  ====================
name                        what it does                                                   command
=========================  =============================================================  ====================
``build_dataset``           build a dataset folder (with ``BuildSettings``)                ``regsim build``
``publish_dataset``         upload a dataset folder to the Hub (``dry_run=True`` shows it)  ``regsim publish``
``read_dataset``            read a dataset folder or Hub id into memory (``DatasetDict``)
``one_hot_encode``          sequences to ``(N, 4, L)`` float32 one-hot (A, C, G, T)
``train``                   train a preset on a dataset, write a model folder             ``regsim train``
``load_model``              load a model folder (eval mode)
``push_model``              upload a model folder to the Hub                               ``regsim push-model``
``plot_training_curves``    loss and validation auPRC per epoch of a trained model (PNG)   ``regsim train``
``attribute``               one attribution method x reference on ``(N, 4, L)`` sequences  ``regsim attribute``
``score_attributions``      score attributions against per-base motif masks (numpy)
``run_benchmark``           the paper's experiment end to end (with ``BenchmarkSettings``)  ``regsim benchmark``
``RegCNNConfig``,           the models (``transformers``), ``preset_config(arch)``
``RegCNNForSequenceClassification``
``METRIC_PATH``             folder of the ``motif_attribution`` evaluate module
=========================  =============================================================  ====================

Layers (each imports only those before it): ``regsim.dataset_builder.core`` (foundation) ->
``regsim.dataset_builder`` -> ``regsim.models`` -> ``regsim.metrics.benchmark``; the evaluate module
``regsim.metrics.motif_attribution`` imports nothing of regsim.
"""

from __future__ import annotations

import importlib

from regsim.dataset_builder.core import __version__  # absolute: pytest may import this file under its folder name

_API = {
    "BuildSettings": "regsim.dataset_builder.build",
    "build_dataset": "regsim.dataset_builder.build",
    "publish_dataset": "regsim.dataset_builder.publish",
    "read_dataset": "regsim.dataset_builder.format",
    "one_hot_encode": "regsim.dataset_builder.core.sequences",
    "RegCNNConfig": "regsim.models",
    "RegCNNForSequenceClassification": "regsim.models",
    "preset_config": "regsim.models",
    "train": "regsim.models.train",
    "push_model": "regsim.models.push_model",
    "plot_training_curves": "regsim.models.plot_training_curves",
    "load_model": "regsim.models.attribution.loading",
    "attribute": "regsim.models.attribution.attribute",
    "score_attributions": "regsim.metrics",
    "METRIC_PATH": "regsim.metrics",
    "BenchmarkSettings": "regsim.metrics.benchmark.pipeline",
    "run_benchmark": "regsim.metrics.benchmark.pipeline",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'regsim' has no attribute {name!r}")
    return getattr(importlib.import_module(_API[name]), name)


def __dir__():
    return sorted(set(globals()) | set(_API))
