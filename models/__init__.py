"""CNNs for regulatory DNA as ``transformers`` models, their training and their sharing.

- :class:`RegCNNConfig` / :class:`RegCNNForSequenceClassification` (``model_type = "regcnn"``): one-hot
  ``(N, 4, L)`` in, one logit out; presets ``basset``, ``beluga`` and ``tiny`` (:func:`preset_config`).
  Importing them registers the classes with ``AutoConfig`` and ``AutoModelForSequenceClassification``,
  so ``AutoModelForSequenceClassification.from_pretrained(MODEL_DIR)`` works; a saved folder also loads
  without regsim through ``trust_remote_code=True``.
- :func:`models.train.train` (``regsim train``), :func:`models.push_model.push_model`
  (``regsim push-model``), :func:`models.model_card.render_model_card`. (The verbs share their
  module's name, so they are imported from the module, not from the package.)

Names are imported lazily so that ``regsim --help`` does not pay for importing torch and transformers.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "RegCNNConfig": "configuration_regcnn",
    "preset_config": "configuration_regcnn",
    "PRESETS": "configuration_regcnn",
    "DEFAULT_WIDTH_MULTIPLIER": "configuration_regcnn",
    "RegCNNForSequenceClassification": "modeling_regcnn",
    "RegCNNLogits": "modeling_regcnn",
    "load_training_data": "train",
    "render_model_card": "model_card",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    if _EXPORTS[name] == "configuration_regcnn":
        # The Auto classes must know the config whenever it is in use.
        importlib.import_module(".modeling_regcnn", __name__)
    module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
