"""Start ``basset`` / ``beluga`` from public weights (``regsim train --init-from FILE --init-task N``).

Files read (PyTorch state dicts, loaded with ``torch.load(weights_only=True)``: tensors only):

- **Basset**, Kipoi's PyTorch port (``Basset/model_files/pretrained_model_reloaded_th.pth``): an
  ``nn.Sequential`` of ``Conv2d(4, 300, (19, 1))``, ``BatchNorm2d``, ``ReLU``, ``MaxPool2d((3, 1))``,
  ``Conv2d(300, 200, (11, 1))`` ... ``MaxPool2d((4, 1))``, flatten to 2000, then ``Linear(2000, 1000)``,
  ``BatchNorm1d``, ``ReLU``, ``Dropout(0.3)`` twice and ``Linear(1000, 164)`` (keys ``0.*``, ``1.*``, ``4.*``,
  ``5.*``, ``8.*``, ``9.*``, ``13.1.*``, ``14.*``, ``17.1.*``, ``18.*``, ``21.1.*``); 600-bp input
  ``(N, 4, 600, 1)``, bases A, C, G, T.
- **DeepSEA Beluga** as distributed with ExPecto (``deepsea.beluga.pth``): ``model.0.{0,2,6,8,12,14}``
  ``Conv2d(., ., (1, 8))`` without padding, max-pool 4 after the second and fourth, flatten to 67840
  (640 x 106), ``model.1.2.1`` ``Linear(67840, 2003)``, ReLU, ``model.1.4.1`` ``Linear(2003, 2002)``;
  2000-bp input ``(N, 4, 1, 2000)``, bases in ExPecto's order **A, G, C, T**.

Mapping onto the presets at width multiplier 1: every convolution and batch norm unit by unit (the
``(out, in, k, 1)`` / ``(out, in, 1, k)`` kernels become ``(out, in, k)``; Beluga's first kernel's input
channels are reordered to A, C, G, T); the layer options follow the originals where the presets' recipes
differ (Basset: batch norm on the dense layers, dense dropout 0.3; Beluga: no batch norm); the output layer keeps row ``task`` of the original's last ``Linear`` as the one logit. The
first dense layer is adapted to the dataset's width: the presets' convolutions keep the length
(``same`` padding), so their last stage has ``P`` positions where the original had ``P0`` (10 for
Basset at 600 bp, 106 for Beluga at 2000 bp); the dense weights of the central ``P`` positions of each
channel are kept (the part of the original's input window that the shorter sequence covers, centred).
With ``conv_padding="valid"`` and the original input length, ``P = P0`` and the converted model computes
exactly the original's logit for that task (tested).
"""

from __future__ import annotations

import os
from pathlib import Path

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.io import sha256

# For each architecture: (our conv block index -> original conv key, original batch-norm key or None),
# the dense layers (ours -> original linear key, original batch-norm key), the output layer key, the
# original flatten positions and the input base order.
LAYOUTS = {
    "basset": {
        "source": "Kipoi Basset PyTorch port (pretrained_model_reloaded_th.pth)",
        "convs": [("0", "1"), ("4", "5"), ("8", "9")],
        "dense": [("13.1", "14"), ("17.1", "18")],
        "output": "21.1",
        "kernel_axis": 2,  # Conv2d kernels (out, in, k, 1)
        "positions": 10,
        "input_length": 600,
        "bases": "ACGT",
        "overrides": {"conv_batch_norm": True, "dense_batch_norm": True, "dense_dropout": 0.3},
    },
    "beluga": {
        "source": "DeepSEA Beluga PyTorch state dict distributed with ExPecto (deepsea.beluga.pth)",
        "convs": [("model.0.0", None), ("model.0.2", None), ("model.0.6", None), ("model.0.8", None),
                  ("model.0.12", None), ("model.0.14", None)],
        "dense": [("model.1.2.1", None)],
        "output": "model.1.4.1",
        "kernel_axis": 3,  # Conv2d kernels (out, in, 1, k)
        "positions": 106,
        "input_length": 2000,
        "bases": "AGCT",
        "overrides": {"conv_batch_norm": False},
    },
}
_NORM_KEYS = ("weight", "bias", "running_mean", "running_var")


def read_state_dict(path: str | os.PathLike) -> dict:
    """The tensors of a PyTorch state-dict file (``torch.load(weights_only=True)``; no code runs)."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise UserError(f"--init-from {path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise UserError(f"--init-from {path}: not a PyTorch state dict ({str(error).splitlines()[0]})") from error
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"--init-from {path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    return state


def initial_config(arch: str, sequence_length: int, **overrides):
    """The full-width preset that ``arch``'s public weights map onto, adapted to ``sequence_length``."""
    from .configuration_regcnn import preset_config

    if arch not in LAYOUTS:
        raise UserError(f"--init-from applies to --arch {' or '.join(LAYOUTS)}, not {arch}")
    try:
        return preset_config(arch, sequence_length, 1.0, **{**LAYOUTS[arch]["overrides"], **overrides})
    except ValueError as error:
        raise UserError(f"--arch {arch}: {error}") from error


def convert_state_dict(arch: str, state: dict, config, task: int = 0, *, where: str = "--init-from") -> tuple[dict, dict]:
    """Map an original Basset / Beluga state dict onto a :class:`RegCNNForSequenceClassification` of ``config``.

    Parameters
    ----------
    arch : {"basset", "beluga"}
    state : dict
        The original's state dict (see the module docstring for the layouts).
    config : RegCNNConfig
        From :func:`initial_config` (or with ``conv_padding="valid"`` and the original input length).
    task : int, default 0
        Row of the original's output layer kept as the logit.
    where : str
        Names the file in error messages.

    Returns
    -------
    state_dict : dict
        Keys of ``RegCNNForSequenceClassification(config).state_dict()``.
    info : dict
        ``task``, ``n_tasks``, ``positions`` (original and kept), ``first_kept_position``.

    Raises
    ------
    UserError
        A missing key, or a tensor whose shape differs from the original architecture's (naming both).
    """
    import torch

    layout = LAYOUTS[arch]
    keys = set(state)

    def tensor(key, shape):
        if key not in keys:
            raise UserError(f"{where}: no key {key!r}; not the {layout['source']}")
        value = state[key]
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise UserError(f"{where}: {key!r} has shape {tuple(value.shape)}, the {arch} architecture needs "
                            f"{tuple(shape)}")
        return value.detach().to(torch.float32).clone()

    out = {}
    in_channels = 4
    for block, ((conv_key, norm_key), channels, kernel) in enumerate(
            zip(layout["convs"], config.conv_channels, config.conv_kernel_sizes)):
        shape = (channels, in_channels, kernel, 1) if layout["kernel_axis"] == 2 else (channels, in_channels, 1, kernel)
        weight = tensor(f"{conv_key}.weight", shape).squeeze(5 - layout["kernel_axis"])
        if block == 0:
            weight = weight[:, [layout["bases"].index(b) for b in "ACGT"]]
        out[f"conv_blocks.{block}.conv.weight"] = weight
        out[f"conv_blocks.{block}.conv.bias"] = tensor(f"{conv_key}.bias", (channels,))
        if norm_key is not None:
            out.update(_norm(tensor, norm_key, f"conv_blocks.{block}.norm", channels, state))
        in_channels = channels
    if len(layout["convs"]) != len(config.conv_channels):
        raise UserError(f"{where}: {arch} has {len(layout['convs'])} convolutions, the config {len(config.conv_channels)}")

    kept, original = config.stage_lengths()[-1], layout["positions"]
    if kept > original:
        raise UserError(f"{where}: the sequences need {kept} positions after the convolutions, the original "
                        f"dense layer has {original} ({arch} takes at most {layout['input_length']} bp)")
    start = (original - kept) // 2
    in_features = in_channels * original
    for index, ((linear_key, norm_key), units) in enumerate(zip(layout["dense"], config.dense_units)):
        weight = tensor(f"{linear_key}.weight", (units, in_features))
        if index == 0:  # keep the central `kept` positions of every channel
            weight = weight.view(units, in_channels, original)[:, :, start:start + kept].reshape(units, -1)
        out[f"dense_blocks.{index}.linear.weight"] = weight.contiguous()
        out[f"dense_blocks.{index}.linear.bias"] = tensor(f"{linear_key}.bias", (units,))
        if norm_key is not None:
            out.update(_norm(tensor, norm_key, f"dense_blocks.{index}.norm", units, state))
        in_features = units
    output = tensor(f"{layout['output']}.weight", None)
    if output.dim() != 2 or output.shape[1] != in_features:
        raise UserError(f"{where}: {layout['output']}.weight has shape {tuple(output.shape)}, the {arch} "
                        f"architecture needs (tasks, {in_features})")
    n_tasks = output.shape[0]
    if not 0 <= task < n_tasks:
        raise UserError(f"--init-task {task} is out of range: the file has {n_tasks} output units (0 to {n_tasks - 1})")
    out["classifier.weight"] = output[task:task + 1].clone()
    out["classifier.bias"] = tensor(f"{layout['output']}.bias", (n_tasks,))[task:task + 1].clone()
    used = {k for k in keys if any(k.startswith(p + ".") for p in _prefixes(layout))}
    unknown = sorted(keys - used)
    if unknown:
        raise UserError(f"{where}: unexpected key {unknown[0]!r} ({len(unknown)} unexpected); not the {layout['source']}")
    info = {"task": task, "n_tasks": int(n_tasks), "original_positions": original, "kept_positions": kept,
            "first_kept_position": start}
    return out, info


def _norm(tensor, key: str, ours: str, units: int, state: dict) -> dict:
    import torch

    out = {f"{ours}.{name}": tensor(f"{key}.{name}", (units,)) for name in _NORM_KEYS}
    tracked = state.get(f"{key}.num_batches_tracked")  # absent from files saved before PyTorch 0.4.1
    out[f"{ours}.num_batches_tracked"] = (tracked.clone() if tracked is not None else torch.tensor(0)).to(torch.long)
    return out


def _prefixes(layout: dict) -> list[str]:
    pairs = layout["convs"] + layout["dense"]
    return [k for pair in pairs for k in pair if k] + [layout["output"]]


def init_model(arch: str, path: str | os.PathLike, sequence_length: int, task: int = 0):
    """A full-width ``arch`` model for ``sequence_length``-bp inputs, initialised from ``path``.

    Returns
    -------
    model : RegCNNForSequenceClassification
    provenance : dict
        ``file``, ``sha256``, ``source`` and the mapping's ``info`` (recorded in the model card).
    """
    from .modeling_regcnn import RegCNNForSequenceClassification

    config = initial_config(arch, sequence_length)
    state, info = convert_state_dict(arch, read_state_dict(path), config, task, where=f"--init-from {path}")
    model = RegCNNForSequenceClassification(config)
    model.load_state_dict(state, strict=True)
    return model, {"file": Path(path).name, "sha256": sha256(path), "source": LAYOUTS[arch]["source"], **info}
