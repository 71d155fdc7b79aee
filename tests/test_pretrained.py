"""``regsim train --init-from``: public Basset (Kipoi) and Beluga (ExPecto) weights mapped onto the presets.

The original architectures are re-implemented here from their published code (Kipoi
``Basset/model_files/pretrained_model_reloaded_th.py``, ExPecto ``chromatin.py``): same module indices,
hence the same state-dict keys and shapes, random weights (the real files cannot be downloaded here).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from regsim.dataset_builder.core.errors import UserError
from regsim.models import RegCNNForSequenceClassification
from regsim.models.pretrained import convert_state_dict, init_model, initial_config, read_state_dict
from test_attribution_toys import random_one_hot


class _Fn(nn.Module):
    """A parameter-free step (the originals' ``Lambda`` modules)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _flatten():
    return _Fn(lambda x: x.reshape(x.size(0), -1))


def kipoi_basset(n_tasks: int = 164) -> nn.Sequential:
    """Kipoi's Basset port: input (N, 4, 600, 1), A, C, G, T."""
    return nn.Sequential(
        nn.Conv2d(4, 300, (19, 1)), nn.BatchNorm2d(300), nn.ReLU(), nn.MaxPool2d((3, 1), (3, 1)),
        nn.Conv2d(300, 200, (11, 1)), nn.BatchNorm2d(200), nn.ReLU(), nn.MaxPool2d((4, 1), (4, 1)),
        nn.Conv2d(200, 200, (7, 1)), nn.BatchNorm2d(200), nn.ReLU(), nn.MaxPool2d((4, 1), (4, 1)),
        _flatten(),
        nn.Sequential(_Fn(lambda x: x), nn.Linear(2000, 1000)), nn.BatchNorm1d(1000), nn.ReLU(), nn.Dropout(0.3),
        nn.Sequential(_Fn(lambda x: x), nn.Linear(1000, 1000)), nn.BatchNorm1d(1000), nn.ReLU(), nn.Dropout(0.3),
        nn.Sequential(_Fn(lambda x: x), nn.Linear(1000, n_tasks)), nn.Sigmoid(),
    )


class ExpectoBeluga(nn.Module):
    """ExPecto's Beluga: input (N, 4, 1, 2000), bases A, G, C, T."""

    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Sequential(
                nn.Conv2d(4, 320, (1, 8)), nn.ReLU(), nn.Conv2d(320, 320, (1, 8)), nn.ReLU(), nn.Dropout(0.2),
                nn.MaxPool2d((1, 4), (1, 4)),
                nn.Conv2d(320, 480, (1, 8)), nn.ReLU(), nn.Conv2d(480, 480, (1, 8)), nn.ReLU(), nn.Dropout(0.2),
                nn.MaxPool2d((1, 4), (1, 4)),
                nn.Conv2d(480, 640, (1, 8)), nn.ReLU(), nn.Conv2d(640, 640, (1, 8)), nn.ReLU(),
            ),
            nn.Sequential(
                nn.Dropout(0.5), _flatten(),
                nn.Sequential(_Fn(lambda x: x), nn.Linear(67840, 2003)), nn.ReLU(),
                nn.Sequential(_Fn(lambda x: x), nn.Linear(2003, 2002)),
            ),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.model(x)


def _randomise(model: nn.Module, seed: int) -> nn.Module:
    """Random weights with non-trivial batch-norm statistics, so every tensor of the mapping matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.dtype.is_floating_point:
                values = torch.randn(tensor.shape, generator=generator) * 0.05
                if "running_var" in name:
                    values = values.abs() + 0.5
                if name.endswith("weight") and tensor.dim() == 1:  # batch-norm scale
                    values = values + 1.0
                tensor.copy_(values)
    return model.eval()


@pytest.fixture(scope="module")
def basset_original():
    torch.manual_seed(0)
    return _randomise(kipoi_basset(), 1)


@pytest.fixture(scope="module")
def beluga_original():
    torch.manual_seed(0)
    return _randomise(ExpectoBeluga(), 2)


def test_basset_converted_model_computes_the_original_logit(basset_original):
    config = initial_config("basset", 600, conv_padding="valid")
    state, info = convert_state_dict("basset", basset_original.state_dict(), config, task=37)
    assert info == {"task": 37, "n_tasks": 164, "original_positions": 10, "kept_positions": 10, "first_kept_position": 0}
    model = RegCNNForSequenceClassification(config).eval()
    model.load_state_dict(state, strict=True)
    X = torch.from_numpy(random_one_hot(3, 600, seed=4))
    with torch.no_grad():
        theirs = basset_original[:-1](X.unsqueeze(-1))[:, 37]  # before the sigmoid
        ours = model.logits(X)[:, 0]
    assert theirs.abs().max() > 0.05  # not a vacuous comparison
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_beluga_converted_model_computes_the_original_logit(beluga_original):
    config = initial_config("beluga", 2000, conv_padding="valid")
    state, info = convert_state_dict("beluga", beluga_original.state_dict(), config, task=1500)
    assert info["n_tasks"] == 2002 and info["kept_positions"] == info["original_positions"] == 106
    model = RegCNNForSequenceClassification(config).eval()
    model.load_state_dict(state, strict=True)
    X = torch.from_numpy(random_one_hot(2, 2000, seed=5))  # A, C, G, T
    agct = X[:, [0, 2, 1, 3]].unsqueeze(2)  # ExPecto's encoding of the same sequences
    with torch.no_grad():
        theirs = beluga_original.model[:-1](agct)[:, 1500]
        ours = model.logits(X)[:, 0]
    assert theirs.abs().max() > 1e-3
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_mapping_unit_by_unit_and_dense_layer_trimmed_to_the_central_positions(basset_original, beluga_original):
    # Basset at 200 bp ("same" padding): 200 // 48 = 4 positions kept of 10, from position (10 - 4) // 2 = 3.
    original = basset_original.state_dict()
    state, info = convert_state_dict("basset", original, initial_config("basset", 200), task=5)
    assert (info["kept_positions"], info["first_kept_position"]) == (4, 3)
    assert torch.equal(state["conv_blocks.1.conv.weight"][7, 12, 4], original["4.weight"][7, 12, 4, 0])
    assert torch.equal(state["conv_blocks.2.norm.running_var"], original["9.running_var"])
    assert torch.equal(state["dense_blocks.1.norm.weight"], original["18.weight"])
    w = original["13.1.weight"]  # (1000, 200 channels x 10 positions)
    assert state["dense_blocks.0.linear.weight"].shape == (1000, 800)
    for unit, channel, position in [(0, 0, 0), (999, 199, 3), (412, 57, 2)]:
        assert state["dense_blocks.0.linear.weight"][unit, channel * 4 + position] == w[unit, channel * 10 + 3 + position]
    assert torch.equal(state["classifier.weight"], original["21.1.weight"][5:6])
    assert torch.equal(state["classifier.bias"], original["21.1.bias"][5:6])
    # Beluga at 200 bp: 200 // 16 = 12 of 106 positions, from 47; first kernel's inputs reordered to A, C, G, T.
    original = beluga_original.state_dict()
    state, info = convert_state_dict("beluga", original, initial_config("beluga", 200), task=0)
    assert (info["kept_positions"], info["first_kept_position"]) == (12, 47)
    first = original["model.0.0.weight"][:, :, 0, :]  # (320, A G C T, 8)
    for ours, theirs in enumerate([0, 2, 1, 3]):
        assert torch.equal(state["conv_blocks.0.conv.weight"][:, ours], first[:, theirs])
    assert torch.equal(state["conv_blocks.5.conv.weight"], original["model.0.14.weight"][:, :, 0, :])
    w = original["model.1.2.1.weight"]
    assert state["dense_blocks.0.linear.weight"][2002, 639 * 12 + 11] == w[2002, 639 * 106 + 47 + 11]
    assert state["dense_blocks.0.linear.weight"][3, 5 * 12] == w[3, 5 * 106 + 47]
    assert torch.equal(state["classifier.weight"], original["model.1.4.1.weight"][:1])


def test_init_model_reads_the_file_and_records_its_sha256(basset_original, tmp_path):
    import hashlib

    path = tmp_path / "pretrained_model_reloaded_th.pth"
    torch.save(basset_original.state_dict(), path)
    model, provenance = init_model("basset", path, 200, task=3)
    assert provenance["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert provenance["file"] == path.name and provenance["task"] == 3
    assert model.config.width_multiplier == 1.0 and model.config.dense_batch_norm
    assert torch.equal(model.classifier.weight.detach(), basset_original.state_dict()["21.1.weight"][3:4])


def test_wrong_files_name_the_key_or_shape(basset_original, tmp_path):
    state = dict(basset_original.state_dict())
    config = initial_config("basset", 200)
    with pytest.raises(UserError, match=r"'8\.weight' has shape \(200, 200, 5, 1\), the basset architecture needs \(200, 200, 7, 1\)"):
        convert_state_dict("basset", {**state, "8.weight": torch.zeros(200, 200, 5, 1)}, config)
    with pytest.raises(UserError, match=r"no key '14\.running_mean'"):
        convert_state_dict("basset", {k: v for k, v in state.items() if k != "14.running_mean"}, config)
    with pytest.raises(UserError, match=r"unexpected key '99\.weight'"):
        convert_state_dict("basset", {**state, "99.weight": torch.zeros(1)}, config)
    with pytest.raises(UserError, match=r"--init-task 164 is out of range: the file has 164 output units"):
        convert_state_dict("basset", state, config, task=164)
    # A Beluga file given for --arch basset: the first key it misses is named.
    with pytest.raises(UserError, match=r"no key '0\.weight'"):
        convert_state_dict("basset", {"model.0.0.weight": torch.zeros(320, 4, 1, 8)}, config)
    garbage = tmp_path / "notes.pth"
    garbage.write_text("not a checkpoint")
    with pytest.raises(UserError, match=r"notes\.pth: not a PyTorch state dict"):
        read_state_dict(garbage)
    with pytest.raises(UserError, match="no such file"):
        read_state_dict(tmp_path / "missing.pth")
    with pytest.raises(UserError, match="takes at most 600 bp"):
        convert_state_dict("basset", state, initial_config("basset", 1000))


def test_train_init_from_records_the_file_in_card_and_config(basset_original, tmp_path):
    from regsim.cli import main
    from regsim.models.train import train
    from tiny_data import write_tiny_dataset

    data = write_tiny_dataset(tmp_path / "tiny", n_per_class=40, length=96)
    path = tmp_path / "pretrained_model_reloaded_th.pth"
    torch.save(basset_original.state_dict(), path)
    out = tmp_path / "model"
    train(data, arch="basset", out=out, init_from=path, init_task=2, epochs=1, patience=1, batch_size=16,
          verbose=False)
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    card = (out / "README.md").read_text()
    assert f"sha256 `{digest}`" in card and "output unit 2 of 164" in card and "positions 4 to 5 of 10 kept" in card
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["init_from"]["sha256"] == digest and config["width_multiplier"] == 1.0
    assert config["dense_batch_norm"] is True
    # One line, exit 2, for bad input.
    assert main(["train", "--dataset", str(data), "--arch", "basset", "--out", str(tmp_path / "m2"),
                 "--init-from", str(path), "--width-multiplier", "0.5"]) == 2
    assert main(["train", "--dataset", str(data), "--arch", "beluga", "--out", str(tmp_path / "m3"),
                 "--init-from", str(path)]) == 2
