"""regsim's CNN as a ``transformers`` model: one-hot DNA ``(N, 4, L)`` in, one logit out.

Built for attribution methods (captum, tangermeme, regsim's own):

- every nonlinearity is its own ``nn.Module`` used exactly once (``nn.ReLU``, ``nn.MaxPool1d``;
  dropout and batch norm are modules too), and the layers run in module order: conv blocks,
  ``nn.Flatten``, dense blocks, the ``classifier`` ``nn.Linear``;
- ``model.first_conv`` / ``model.last_conv`` are the first and last ``nn.Conv1d``
  (``model.first_conv_activation`` / ``model.last_conv_activation`` their ReLUs), and
  ``model.config.receptive_field(block)`` maps a convolution's output positions to input bases;
- :meth:`RegCNNForSequenceClassification.logits` returns a plain tensor of shape ``(N, 1)`` (the
  pre-sigmoid logit of the positive class), and :meth:`~RegCNNForSequenceClassification.logit_module`
  wraps it as an ``nn.Module`` for tools that call ``module(x)``.

Weights are initialised by :meth:`RegCNNPreTrainedModel._init_weights` (He-normal convolutions and
dense layers, zero biases, unit batch norm), not by the transformers default (normal, std 0.02).

This file is copied next to the weights by ``save_pretrained``: it imports only torch, transformers
and its sibling ``configuration_regcnn``.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_regcnn import RegCNNConfig

try:  # transformers >= 5: init functions that skip weights already loaded from a checkpoint
    from transformers import initialization as _init
except ImportError:  # transformers 4
    _init = nn.init

# Beluga's 8-bp kernels with "same" padding: PyTorch pads one more zero on the right and warns about
# the extra copy; the padding is intended (see configuration_regcnn).
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths", category=UserWarning)


class ConvBlock(nn.Sequential):
    """``conv -> [norm] -> activation -> [dropout] -> [pool]`` (optional parts only when used)."""

    def __init__(self, in_channels, out_channels, kernel_size, padding, batch_norm, dropout, pool_size):
        layers = OrderedDict(conv=nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding))
        if batch_norm:
            layers["norm"] = nn.BatchNorm1d(out_channels)
        layers["activation"] = nn.ReLU()
        if dropout > 0:
            layers["dropout"] = nn.Dropout(dropout)
        if pool_size > 1:
            layers["pool"] = nn.MaxPool1d(pool_size)
        super().__init__(layers)


class DenseBlock(nn.Sequential):
    """``linear -> [norm] -> activation -> [dropout]``."""

    def __init__(self, in_features, out_features, batch_norm, dropout):
        layers = OrderedDict(linear=nn.Linear(in_features, out_features))
        if batch_norm:
            layers["norm"] = nn.BatchNorm1d(out_features)
        layers["activation"] = nn.ReLU()
        if dropout > 0:
            layers["dropout"] = nn.Dropout(dropout)
        super().__init__(layers)


class RegCNNPreTrainedModel(PreTrainedModel):
    config_class = RegCNNConfig
    base_model_prefix = "regcnn"
    main_input_name = "one_hot"

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        """As :meth:`transformers.PreTrainedModel.from_pretrained`, then copies every weight out of the
        memory-mapped safetensors file. Those tensors can sit at addresses that are not 64-byte aligned,
        which sends PyTorch's CPU kernels down a different vector path (measured: logits 1-2 ulp off the
        saved model's); the copies are aligned, so a loaded model reproduces the saved one bit for bit."""
        loaded = super().from_pretrained(*args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        model._copy_tensors_to_owned_memory()
        return loaded

    @torch.no_grad()
    def _copy_tensors_to_owned_memory(self) -> None:
        for module in self.modules():
            for name, param in module._parameters.items():
                if param is not None:
                    param.data = param.data.clone(memory_format=torch.contiguous_format)
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    module._buffers[name] = buffer.clone(memory_format=torch.contiguous_format)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """He-normal (fan-in, ReLU gain) weights and zero biases for convolutions and dense layers;
        the output layer gets fan-in normal weights with gain 1; batch norm: weight 1, bias 0, fresh
        running statistics."""
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            nonlinearity = "linear" if module is getattr(self, "classifier", None) else "relu"
            _init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity=nonlinearity)
            if module.bias is not None:
                _init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm1d):
            _init.ones_(module.weight)
            _init.zeros_(module.bias)
            _init.zeros_(module.running_mean)
            _init.ones_(module.running_var)
            _init.zeros_(module.num_batches_tracked)


class RegCNNForSequenceClassification(RegCNNPreTrainedModel):
    """Basset/Beluga-style CNN with one output logit (positive class).

    Parameters
    ----------
    config : RegCNNConfig

    Examples
    --------
    >>> from models import RegCNNForSequenceClassification, preset_config
    >>> model = RegCNNForSequenceClassification(preset_config("tiny", sequence_length=50)).eval()
    >>> model.logits(torch.zeros(3, 4, 50)).shape
    torch.Size([3, 1])
    """

    def __init__(self, config: RegCNNConfig):
        super().__init__(config)
        blocks, in_channels = [], 4
        for out_channels, kernel, dropout, pool in zip(
            config.conv_channels, config.conv_kernel_sizes, config.conv_dropout, config.pool_sizes
        ):
            blocks.append(
                ConvBlock(in_channels, out_channels, kernel, config.conv_padding, config.conv_batch_norm, dropout, pool)
            )
            in_channels = out_channels
        self.conv_blocks = nn.Sequential(*blocks)
        self.flatten = nn.Flatten()
        dense, in_features = [], config.flatten_size
        for units in config.dense_units:
            dense.append(DenseBlock(in_features, units, config.dense_batch_norm, config.dense_dropout))
            in_features = units
        self.dense_blocks = nn.Sequential(*dense)
        self.classifier = nn.Linear(in_features, 1)
        self.post_init()

    @property
    def first_conv(self) -> nn.Conv1d:
        """The first convolution layer (its output is ``(N, C1, L1)``)."""
        return self.conv_blocks[0].conv

    @property
    def last_conv(self) -> nn.Conv1d:
        """The last convolution layer (before its batch norm and ReLU)."""
        return self.conv_blocks[-1].conv

    @property
    def first_conv_activation(self) -> nn.ReLU:
        return self.conv_blocks[0].activation

    @property
    def last_conv_activation(self) -> nn.ReLU:
        return self.conv_blocks[-1].activation

    def logits(self, one_hot: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid logit of the positive class.

        Parameters
        ----------
        one_hot : torch.Tensor
            ``(N, 4, L)`` float, A, C, G, T order.

        Returns
        -------
        torch.Tensor
            ``(N, 1)``.
        """
        expected = (4, self.config.sequence_length)
        if one_hot.dim() != 3 or tuple(one_hot.shape[1:]) != expected:
            raise ValueError(f"expected one-hot input of shape (N, {expected[0]}, {expected[1]}), got {tuple(one_hot.shape)}")
        hidden = self.flatten(self.conv_blocks(one_hot))
        return self.classifier(self.dense_blocks(hidden))

    def forward(
        self,
        one_hot: torch.Tensor,
        labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple:
        """Logits ``(N, 1)``, and the binary cross-entropy with ``labels`` (``(N,)`` or ``(N, 1)``, 0/1)."""
        logits = self.logits(one_hot)
        loss = None
        if labels is not None:
            target = labels.to(logits.dtype).reshape(logits.shape)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if not return_dict:
            return (logits,) if loss is None else (loss, logits)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def logit_module(self) -> nn.Module:
        """An ``nn.Module`` whose ``forward(x)`` is :meth:`logits` (``(N, 4, L)`` -> ``(N, 1)``), sharing
        this model's layers; for captum's ``DeepLift`` and tangermeme, which call ``module(x)``."""
        return RegCNNLogits(self)


class RegCNNLogits(nn.Module):
    """Plain-tensor view of a :class:`RegCNNForSequenceClassification`: ``forward(x) -> (N, 1)``."""

    def __init__(self, model: RegCNNForSequenceClassification):
        super().__init__()
        self.model = model

    def forward(self, one_hot: torch.Tensor) -> torch.Tensor:
        return self.model.logits(one_hot)


RegCNNConfig.register_for_auto_class()
RegCNNForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
# Loaded from the Hub (trust_remote_code), transformers registers the classes itself.
if not __name__.startswith("transformers_modules"):
    AutoConfig.register(RegCNNConfig.model_type, RegCNNConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(RegCNNConfig, RegCNNForSequenceClassification, exist_ok=True)


__all__ = ["RegCNNForSequenceClassification", "RegCNNPreTrainedModel", "RegCNNLogits"]
