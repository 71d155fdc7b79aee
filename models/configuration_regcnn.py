"""Configuration of regsim's CNNs (``model_type = "regcnn"``) and the Basset / Beluga presets.

A :class:`RegCNNConfig` describes a stack of convolution blocks
(``Conv1d -> [BatchNorm1d] -> ReLU -> [Dropout] -> [MaxPool1d]``), a ``Flatten``, dense blocks
(``Linear -> [BatchNorm1d] -> ReLU -> [Dropout]``) and a final ``Linear`` with one output: the logit of
the "positive" class. Inputs are one-hot DNA of shape ``(N, 4, L)`` with ``L = sequence_length``.

This file is copied next to the weights by ``save_pretrained`` (the Hub loads it with
``trust_remote_code=True``): it may import only the standard library and ``transformers``.

Presets (:func:`preset_config`), widths at ``width_multiplier = 1``:

- ``basset`` (Kelley et al. 2016): conv 300x19, 200x11, 200x7, each with batch norm and max-pool
  3, 4, 4; two dense layers of 1000 units with dropout 0.5 (0.3 before issue 17: part of the recipe
  that let the model over-fit, see benchmarks/bench_train.py; no batch norm on the dense layers: with
  it the model over-fitted the embedded default dataset sooner, test auROC 0.75 against 0.79-0.80).
- ``beluga`` (DeepSEA Beluga, Zhou et al. 2018): pairs of 8-bp convolutions with 320, 480 and 640
  channels; dropout 0.2 and max-pool 4 after the first two pairs, dropout 0.5 after the last; one dense
  layer of 2003 units. Batch norm after every convolution (since issue 17; the published model has
  none): without it the model sat at the constant output (training loss ln 2) for 10 epochs on simple
  data, and early stopping could end training before it learned anything (benchmarks/bench_train.py).
- ``reference``: the plain reference CNN that shows what the data allow: one convolution of 64
  filters x 15 bp (``"valid"`` padding), ReLU, global max pooling (a ``MaxPool1d`` as wide as the
  convolution's output, so every attribution rule for max pooling applies), one dense layer of 32 units.
- ``tiny``: two small convolutions and one small dense layer, for tests.

Adaptation to the sequence length: convolutions use ``"same"`` padding, so every stage keeps its length
until a pooling layer divides it (floor); the flatten size, ``last channels x L / prod(pools)``, follows
``L``. (Beluga's original unpadded convolutions need about 1 kb of input; at 200 bp they would leave
no positions.) A preset needs ``L >= prod(pool sizes)`` (48 for ``basset``, 16 for ``beluga``, 8 for ``tiny``).

Width multiplier: every convolution's channel count and every dense layer's unit count is
``max(1, round(width x multiplier))``; the compute of the convolution stack scales roughly with the
square of the multiplier. :data:`DEFAULT_WIDTH_MULTIPLIER` holds the CPU defaults used by
``regsim train``.
"""

from __future__ import annotations

import math

from transformers import PretrainedConfig

# The layer recipes at width multiplier 1; "dropout" is applied after the ReLU, before the pooling.
PRESETS = {
    "basset": {
        "conv_channels": [300, 200, 200],
        "conv_kernel_sizes": [19, 11, 7],
        "conv_dropout": [0.0, 0.0, 0.0],
        "pool_sizes": [3, 4, 4],
        "conv_batch_norm": True,
        "dense_units": [1000, 1000],
        "dense_batch_norm": False,
        "dense_dropout": 0.5,
    },
    "beluga": {
        "conv_channels": [320, 320, 480, 480, 640, 640],
        "conv_kernel_sizes": [8, 8, 8, 8, 8, 8],
        "conv_dropout": [0.0, 0.2, 0.0, 0.2, 0.0, 0.5],
        "pool_sizes": [1, 4, 1, 4, 1, 1],
        "conv_batch_norm": True,
        "dense_units": [2003],
        "dense_batch_norm": False,
        "dense_dropout": 0.0,
    },
    "reference": {
        "conv_channels": [64],
        "conv_kernel_sizes": [15],
        "conv_dropout": [0.0],
        "pool_sizes": ["global"],
        "conv_padding": "valid",
        "conv_batch_norm": False,
        "dense_units": [32],
        "dense_batch_norm": False,
        "dense_dropout": 0.0,
    },
    "tiny": {
        "conv_channels": [16, 8],
        "conv_kernel_sizes": [9, 5],
        "conv_dropout": [0.0, 0.1],
        "pool_sizes": [4, 2],
        "conv_batch_norm": True,
        "dense_units": [16],
        "dense_batch_norm": True,
        "dense_dropout": 0.1,
    },
}

# Widths that train on 2 CPU cores in minutes on the embedded default dataset (see benchmarks/bench_train.py).
DEFAULT_WIDTH_MULTIPLIER = {"basset": 0.5, "beluga": 0.25, "reference": 1.0, "tiny": 1.0}


class RegCNNConfig(PretrainedConfig):
    r"""Configuration of a :class:`RegCNNForSequenceClassification`.

    Parameters
    ----------
    sequence_length : int, default 200
        Input length ``L``; inputs are one-hot ``(N, 4, L)``.
    conv_channels, conv_kernel_sizes : list of int
        Output channels and kernel width of each convolution, in order.
    conv_dropout : list of float, optional
        Dropout probability after each convolution's ReLU (0 means no dropout module). Default: all 0.
    pool_sizes : list of int, optional
        Max-pool size (= stride) after each convolution; 1 means no pooling. Default: all 1.
    conv_padding : {"same", "valid"}, default "same"
        ``"same"`` keeps the length (for even kernels one more zero on the right, as PyTorch does).
    conv_batch_norm : bool, default True
        Batch norm between each convolution and its ReLU.
    dense_units : list of int, default [1000]
        Units of each hidden dense layer.
    dense_batch_norm : bool, default False
        Batch norm between each dense layer and its ReLU.
    dense_dropout : float, default 0.0
        Dropout after each dense ReLU.
    preset : str, optional
        Name of the preset this configuration came from (informational).
    width_multiplier : float, default 1.0
        Multiplier that was applied to the preset's widths (informational).
    training : dict, optional
        Provenance written by ``regsim train`` (dataset, version, checksums); not used by the model.

    The model has one output, ``num_labels = 1``: the logit of the "positive" class
    (``problem_type = "multi_label_classification"``, i.e. a sigmoid / binary cross-entropy head).
    """

    model_type = "regcnn"

    def __init__(
        self,
        sequence_length: int = 200,
        conv_channels: list[int] | None = None,
        conv_kernel_sizes: list[int] | None = None,
        conv_dropout: list[float] | None = None,
        pool_sizes: list[int] | None = None,
        conv_padding: str = "same",
        conv_batch_norm: bool = True,
        dense_units: list[int] | None = None,
        dense_batch_norm: bool = False,
        dense_dropout: float = 0.0,
        preset: str | None = None,
        width_multiplier: float = 1.0,
        training: dict | None = None,
        **kwargs,
    ):
        self.sequence_length = int(sequence_length)
        self.conv_channels = list(conv_channels if conv_channels is not None else [64])
        n_conv = len(self.conv_channels)
        self.conv_kernel_sizes = list(conv_kernel_sizes if conv_kernel_sizes is not None else [19] * n_conv)
        self.conv_dropout = [float(p) for p in (conv_dropout if conv_dropout is not None else [0.0] * n_conv)]
        self.pool_sizes = list(pool_sizes if pool_sizes is not None else [1] * n_conv)
        self.conv_padding = conv_padding
        self.conv_batch_norm = bool(conv_batch_norm)
        self.dense_units = list(dense_units if dense_units is not None else [1000])
        self.dense_batch_norm = bool(dense_batch_norm)
        self.dense_dropout = float(dense_dropout)
        self.preset = preset
        self.width_multiplier = float(width_multiplier)
        self.training = training
        kwargs.setdefault("num_labels", 1)
        kwargs.setdefault("id2label", {0: "positive"})
        kwargs.setdefault("label2id", {"positive": 0})
        kwargs.setdefault("problem_type", "multi_label_classification")
        super().__init__(**kwargs)
        self._validate_layers()

    def _validate_layers(self) -> None:
        n_conv = len(self.conv_channels)
        if n_conv == 0:
            raise ValueError("a RegCNN needs at least one convolution (conv_channels is empty)")
        for name in ("conv_kernel_sizes", "conv_dropout", "pool_sizes"):
            if len(getattr(self, name)) != n_conv:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries, conv_channels has {n_conv}")
        if self.conv_padding not in ("same", "valid"):
            raise ValueError(f"conv_padding must be 'same' or 'valid', not {self.conv_padding!r}")
        for name in ("conv_channels", "conv_kernel_sizes", "pool_sizes", "dense_units"):
            if any(int(v) != v or v < 1 for v in getattr(self, name)):
                raise ValueError(f"{name} must hold positive integers, got {getattr(self, name)}")
        for p in [*self.conv_dropout, self.dense_dropout]:
            if not 0.0 <= p < 1.0:
                raise ValueError(f"dropout probabilities must be in [0, 1), got {p}")
        if self.num_labels != 1:
            raise ValueError(f"a RegCNN has one output logit (num_labels=1), got num_labels={self.num_labels}")
        lengths = self.stage_lengths()
        if min(lengths) < 1:
            raise ValueError(
                f"sequence_length {self.sequence_length} is too short for these layers "
                f"(lengths after each convolution block: {lengths})"
            )

    def stage_lengths(self) -> list[int]:
        """Length of the signal after each convolution block (after its pooling)."""
        length, lengths = self.sequence_length, []
        for kernel, pool in zip(self.conv_kernel_sizes, self.pool_sizes):
            if self.conv_padding == "valid":
                length -= kernel - 1
            length = length // pool if length > 0 else length
            lengths.append(length)
        return lengths

    def conv_output_length(self, block: int) -> int:
        """Length of convolution ``block``'s output, before its pooling."""
        length = self.sequence_length if block == 0 else self.stage_lengths()[block - 1]
        return length - (self.conv_kernel_sizes[block] - 1 if self.conv_padding == "valid" else 0)

    @property
    def flatten_size(self) -> int:
        """Number of features after ``Flatten``: last channels x last length."""
        return self.conv_channels[-1] * self.stage_lengths()[-1]

    def receptive_field(self, block: int) -> tuple[int, int, int]:
        """Input bases seen by one output position of convolution ``block`` (before its pooling).

        Returns ``(offset, width, stride)``: output position ``j`` of that convolution depends on input
        positions ``offset + j * stride`` up to ``offset + j * stride + width`` (half-open), clipped to
        ``[0, L)`` (positions outside are zero padding). ``block=0`` is the first convolution,
        ``block=-1`` the last.
        """
        block = block % len(self.conv_channels)
        offset, width, stride = 0, 1, 1
        for i in range(block + 1):
            kernel = self.conv_kernel_sizes[i]
            left_pad = (kernel - 1) // 2 if self.conv_padding == "same" else 0
            offset -= left_pad * stride
            width += (kernel - 1) * stride
            if i == block:
                break
            pool = self.pool_sizes[i]
            width += (pool - 1) * stride
            stride *= pool
        return offset, width, stride


def preset_config(
    name: str, sequence_length: int, width_multiplier: float | None = None, **overrides
) -> RegCNNConfig:
    """Build the configuration of a preset adapted to ``sequence_length``.

    Parameters
    ----------
    name : {"basset", "beluga", "reference", "tiny"}
    sequence_length : int
        Input length ``L``.
    width_multiplier : float, optional
        Scales every channel and unit count (``max(1, round(width x multiplier))``). Default:
        ``DEFAULT_WIDTH_MULTIPLIER[name]``.
    **overrides
        Any other :class:`RegCNNConfig` field (e.g. ``conv_padding="valid"``).

    Returns
    -------
    RegCNNConfig
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    if width_multiplier is None:
        width_multiplier = DEFAULT_WIDTH_MULTIPLIER[name]
    if not (math.isfinite(width_multiplier) and width_multiplier > 0):
        raise ValueError(f"width multiplier must be a positive number, got {width_multiplier}")
    recipe = dict(PRESETS[name])
    recipe["conv_channels"] = [_scaled(c, width_multiplier) for c in recipe["conv_channels"]]
    recipe["dense_units"] = [_scaled(u, width_multiplier) for u in recipe["dense_units"]]
    recipe.update(overrides)
    recipe["pool_sizes"] = _global_pools(recipe, sequence_length)
    return RegCNNConfig(
        sequence_length=sequence_length, preset=name, width_multiplier=width_multiplier, **recipe
    )


def _global_pools(recipe: dict, sequence_length: int) -> list[int]:
    """Replace a ``"global"`` pool size by the length of that convolution's output (one position left)."""
    pools, length = [], sequence_length
    padding = recipe.get("conv_padding", "same")
    for kernel, pool in zip(recipe["conv_kernel_sizes"], recipe["pool_sizes"]):
        if padding == "valid":
            length -= kernel - 1
        if pool == "global":
            pool = max(1, length)
        pools.append(pool)
        length = length // pool if length > 0 else length
    return pools


def _scaled(width: int, multiplier: float) -> int:
    return max(1, int(round(width * multiplier)))


__all__ = ["RegCNNConfig", "preset_config", "PRESETS", "DEFAULT_WIDTH_MULTIPLIER"]
