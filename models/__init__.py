"""CNNs for regulatory DNA as ``transformers`` models, their training, sharing and explanation.

- :class:`RegCNNConfig` / :class:`RegCNNForSequenceClassification` (``model_type = "regcnn"``): one-hot
  ``(N, 4, L)`` in, one logit out; presets ``basset``, ``beluga``, ``reference`` and ``tiny`` (:func:`preset_config`).
  Importing this package registers both with ``AutoConfig`` and ``AutoModelForSequenceClassification``,
  so ``AutoModelForSequenceClassification.from_pretrained(MODEL_DIR)`` works; a saved folder also loads
  without regsim through ``trust_remote_code=True``.
- :func:`regsim.models.train.train` (``regsim train``), :func:`regsim.models.push_model.push_model`
  (``regsim push-model``), :func:`regsim.models.model_card.render_model_card`,
  :func:`regsim.models.plot_training_curves.plot_training_curves`, and the attribution
  methods in :mod:`regsim.models.attribution`. (Verbs share their module's name, so they are imported
  from the module, not from the package.)
"""

from .configuration_regcnn import DEFAULT_WIDTH_MULTIPLIER, PRESETS, RegCNNConfig, preset_config
from .modeling_regcnn import RegCNNForSequenceClassification, RegCNNLogits

__all__ = [
    "DEFAULT_WIDTH_MULTIPLIER",
    "PRESETS",
    "RegCNNConfig",
    "RegCNNForSequenceClassification",
    "RegCNNLogits",
    "preset_config",
]
