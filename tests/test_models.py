"""RegCNN models: presets, initialisation, save/load round trip, attribution-friendly structure."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from regsim.models import RegCNNConfig, RegCNNForSequenceClassification, preset_config


def random_one_hot(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))].transpose(0, 2, 1).copy())


def warmed_model(config, seed=0):
    """A model whose batch-norm running statistics are not the defaults (one train-mode pass)."""
    torch.manual_seed(seed)
    model = RegCNNForSequenceClassification(config)
    model.train()
    with torch.no_grad():
        model.logits(random_one_hot(16, config.sequence_length, seed=seed + 1))
    return model.eval()


def test_basset_preset_layers_and_parameter_count():
    config = preset_config("basset", 200, width_multiplier=1.0)
    assert config.conv_channels == [300, 200, 200]
    assert config.conv_kernel_sizes == [19, 11, 7]
    assert config.pool_sizes == [3, 4, 4]
    assert config.stage_lengths() == [66, 16, 4]  # 200 // 3, 66 // 4, 16 // 4 ("same" padding)
    assert config.flatten_size == 800
    model = RegCNNForSequenceClassification(config)
    by_hand = (
        (4 * 19 * 300 + 300) + 2 * 300
        + (300 * 11 * 200 + 200) + 2 * 200
        + (200 * 7 * 200 + 200) + 2 * 200
        + (800 * 1000 + 1000)
        + (1000 * 1000 + 1000)
        + (1000 + 1)
    )
    assert sum(p.numel() for p in model.parameters()) == by_hand == 2_767_901
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]


def test_beluga_preset_layers_follow_sequence_length():
    config = preset_config("beluga", 200, width_multiplier=1.0)
    assert config.conv_channels == [320, 320, 480, 480, 640, 640]
    assert set(config.conv_kernel_sizes) == {8}
    assert config.stage_lengths() == [200, 50, 50, 12, 12, 12]
    assert config.flatten_size == 640 * 12
    assert config.dense_units == [2003]
    longer = preset_config("beluga", 1000, width_multiplier=1.0)
    assert longer.flatten_size == 640 * (1000 // 16)
    model = RegCNNForSequenceClassification(preset_config("beluga", 200, width_multiplier=0.125))
    assert model.classifier.in_features == 250  # round(2003 * 0.125 = 250.375)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.2, 0.5]


def test_reference_preset_is_one_conv_with_global_max_pooling():
    config = preset_config("reference", 200)
    assert config.width_multiplier == 1.0 and config.conv_padding == "valid"
    assert config.conv_channels == [64] and config.conv_kernel_sizes == [15] and config.dense_units == [32]
    assert config.pool_sizes == [186]  # 200 - 15 + 1 positions pooled into one
    assert config.stage_lengths() == [1] and config.flatten_size == 64
    assert preset_config("reference", 50).pool_sizes == [36]
    assert preset_config("reference", 200, conv_padding="same").pool_sizes == [200]
    model = RegCNNForSequenceClassification(config).eval()
    by_hand = (4 * 15 * 64 + 64) + (64 * 32 + 32) + (32 + 1)
    assert sum(p.numel() for p in model.parameters()) == by_hand == 6_017
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Dropout)) for m in model.modules())
    x = random_one_hot(5, 200, seed=3)
    with torch.no_grad():  # global max pooling by hand: max over positions of ReLU(conv)
        pooled = torch.relu(model.first_conv(x)).amax(dim=2)
        hidden = torch.relu(model.dense_blocks[0].linear(pooled))
        assert torch.allclose(model.logits(x), model.classifier(hidden), atol=1e-6)
    with pytest.raises(ValueError, match="too short"):
        preset_config("reference", 14)


@pytest.mark.parametrize("arch", ["basset", "beluga", "reference", "tiny"])
def test_layer_output_shapes_match_the_config(arch):
    config = preset_config(arch, 200, width_multiplier=0.1)
    model = RegCNNForSequenceClassification(config).eval()
    shapes = {}
    hooks = [
        block.register_forward_hook(lambda m, i, o, k=k: shapes.__setitem__(k, tuple(o.shape)))
        for k, block in enumerate(model.conv_blocks)
    ]
    conv_shapes = {}
    hooks += [
        block.conv.register_forward_hook(lambda m, i, o, k=k: conv_shapes.__setitem__(k, tuple(o.shape)))
        for k, block in enumerate(model.conv_blocks)
    ]
    model.logits(random_one_hot(2, 200))
    for hook in hooks:
        hook.remove()
    for k, (channels, length) in enumerate(zip(config.conv_channels, config.stage_lengths())):
        assert shapes[k] == (2, channels, length)
        assert conv_shapes[k] == (2, channels, config.conv_output_length(k))


def test_width_multiplier_scales_and_rounds():
    config = preset_config("basset", 200, width_multiplier=0.5)
    assert config.conv_channels == [150, 100, 100] and config.dense_units == [500, 500]
    assert preset_config("basset", 200, width_multiplier=1e-6).conv_channels == [1, 1, 1]
    assert preset_config("basset", 200).width_multiplier == 0.5  # the CPU default
    with pytest.raises(ValueError, match="width multiplier"):
        preset_config("basset", 200, width_multiplier=0)


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="too short"):
        preset_config("basset", 40)  # needs >= 3 * 4 * 4 = 48
    assert preset_config("basset", 48).stage_lengths()[-1] == 1
    with pytest.raises(ValueError, match="unknown preset"):
        preset_config("resnet", 200)
    with pytest.raises(ValueError, match="conv_kernel_sizes has 1 entries"):
        RegCNNConfig(conv_channels=[4, 4], conv_kernel_sizes=[3])
    with pytest.raises(ValueError, match="num_labels=1"):
        RegCNNConfig(num_labels=2, id2label={0: "a", 1: "b"})


def test_init_is_he_normal_not_the_transformers_default():
    torch.manual_seed(0)
    model = RegCNNForSequenceClassification(preset_config("basset", 200, width_multiplier=1.0))
    for layer, fan_in in ((model.first_conv, 4 * 19), (model.conv_blocks[1].conv, 300 * 11), (model.dense_blocks[0].linear, 800)):
        expected = math.sqrt(2.0 / fan_in)
        assert layer.weight.std().item() == pytest.approx(expected, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    assert model.classifier.weight.std().item() == pytest.approx(math.sqrt(1.0 / 1000), rel=0.1)
    norm = model.conv_blocks[0].norm
    assert torch.equal(norm.weight, torch.ones(300)) and torch.equal(norm.running_var, torch.ones(300))
    # The same init through the Auto class factory.
    from transformers import AutoModelForSequenceClassification

    auto = AutoModelForSequenceClassification.from_config(preset_config("basset", 200, width_multiplier=1.0))
    assert isinstance(auto, RegCNNForSequenceClassification)
    assert auto.first_conv.weight.std().item() == pytest.approx(math.sqrt(2.0 / 76), rel=0.05)


def test_round_trip_with_auto_class_is_exact_and_pickle_free(tmp_path):
    """Several models and batch sizes: tensors memory-mapped from safetensors at unaligned addresses
    gave logits 1-2 ulp off in about one case in five before ``from_pretrained`` copied them."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    for arch, length in (("tiny", 40), ("basset", 100), ("beluga", 100)):
        for seed in range(3):
            model = warmed_model(preset_config(arch, length, width_multiplier=0.1 if arch != "tiny" else 1.0), seed=seed)
            folder = tmp_path / f"{arch}-{seed}"
            model.save_pretrained(folder)
            names = sorted(p.name for p in folder.iterdir())
            assert names == ["config.json", "configuration_regcnn.py", "model.safetensors", "modeling_regcnn.py"]
            config = json.loads((folder / "config.json").read_text())
            assert config["model_type"] == "regcnn"
            assert config["auto_map"] == {
                "AutoConfig": "configuration_regcnn.RegCNNConfig",
                "AutoModelForSequenceClassification": "modeling_regcnn.RegCNNForSequenceClassification",
            }
            assert isinstance(AutoConfig.from_pretrained(folder), RegCNNConfig)
            loaded = AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True)
            assert isinstance(loaded, RegCNNForSequenceClassification) and not loaded.training
            for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
                assert torch.equal(a, b), name
            for n in (5, 64):
                x = random_one_hot(n, length, seed=seed + 10)
                with torch.no_grad():
                    assert torch.equal(model.logits(x), loaded.logits(x)), (arch, seed, n)
                    assert torch.equal(model(x).logits, loaded(x).logits)


def test_saved_folder_loads_with_trust_remote_code_without_regsim(tmp_path):
    model = warmed_model(preset_config("tiny", 40))
    model.save_pretrained(tmp_path / "model")
    x = random_one_hot(5, 40, seed=4)
    with torch.no_grad():
        np.save(tmp_path / "expected.npy", model.logits(x).numpy())
    np.save(tmp_path / "x.npy", x.numpy())
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained({str(tmp_path / "model")!r}, trust_remote_code=True)
        assert "models" not in sys.modules, "regsim's package was imported"
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        got = model.logits(torch.from_numpy(np.load({str(tmp_path / "x.npy")!r}))).detach().numpy()
        assert np.array_equal(got, np.load({str(tmp_path / "expected.npy")!r})), (got, np.load({str(tmp_path / "expected.npy")!r}))
        print("ok")
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("arch", ["basset", "beluga", "reference", "tiny"])
def test_every_layer_is_a_module_called_once_in_order(arch):
    """Applying the leaf modules one after the other reproduces the logits: no functional ops, no reuse."""
    model = warmed_model(preset_config(arch, 64, width_multiplier=0.1))
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    calls = []
    hooks = [m.register_forward_hook(lambda m, i, o: calls.append(m)) for m in leaves]
    x = random_one_hot(8, 64, seed=5)
    with torch.no_grad():
        expected = model.logits(x)
    for hook in hooks:
        hook.remove()
    assert calls == leaves  # each leaf once, in registration order
    assert len({id(m) for m in leaves}) == len(leaves)
    n_relu = sum(isinstance(m, nn.ReLU) for m in leaves)
    assert n_relu == len(model.config.conv_channels) + len(model.config.dense_units)
    with torch.no_grad():
        h = x
        for module in leaves:
            h = module(h)
    assert torch.equal(h, expected)


def test_named_layers_and_plain_logits():
    model = warmed_model(preset_config("beluga", 64, width_multiplier=0.05))
    assert model.first_conv is model.conv_blocks[0].conv and model.first_conv.in_channels == 4
    assert model.last_conv is model.conv_blocks[-1].conv and model.last_conv.out_channels == model.config.conv_channels[-1]
    assert isinstance(model.first_conv_activation, nn.ReLU) and isinstance(model.last_conv_activation, nn.ReLU)
    x = random_one_hot(6, 64, seed=6)
    with torch.no_grad():
        plain = model.logits(x)
        assert type(plain) is torch.Tensor and plain.shape == (6, 1)
        assert torch.equal(plain, model(x).logits)
        assert torch.equal(plain, model.logit_module()(x))
    assert model.logit_module().model is model
    with pytest.raises(ValueError, match=r"\(N, 4, 64\)"):
        model.logits(torch.zeros(2, 4, 63))


def test_loss_is_binary_cross_entropy_on_the_logit():
    model = warmed_model(preset_config("tiny", 40))
    x = random_one_hot(10, 40, seed=7)
    labels = torch.tensor([0, 1] * 5)
    with torch.no_grad():
        out = model(x, labels=labels)
    z = out.logits[:, 0].double().numpy()
    y = labels.double().numpy()
    by_hand = np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - y * z)
    assert out.loss.item() == pytest.approx(by_hand, rel=1e-6)
    loss, logits = model(x, labels=labels, return_dict=False)
    assert torch.equal(logits, out.logits)


@pytest.mark.parametrize("arch, length", [("tiny", 40), ("beluga", 64), ("basset", 96), ("reference", 50)])
@pytest.mark.parametrize("block", [0, -1])
def test_receptive_field_matches_gradient_support(arch, length, block):
    """Linearise the network (ReLU -> identity, max -> average pooling): the gradient of one output
    position of a convolution is then non-zero exactly on its receptive field."""
    config = preset_config(arch, length, width_multiplier=0.05)
    model = RegCNNForSequenceClassification(config).eval()
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, name, nn.Identity())
            elif isinstance(child, nn.MaxPool1d):
                setattr(parent, name, nn.AvgPool1d(child.kernel_size))
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()  # no cancellations
    conv = model.conv_blocks[block].conv
    captured = {}
    conv.register_forward_hook(lambda m, i, o: captured.__setitem__("out", o))
    offset, width, stride = config.receptive_field(block)
    out_length = config.conv_output_length(block % len(config.conv_channels))
    for j in sorted({0, out_length // 2, out_length - 1}):
        x = torch.full((1, 4, length), 0.25, requires_grad=True)
        model.logits(x)
        captured["out"][0, :, j].sum().backward()
        support = torch.nonzero(x.grad.abs().sum(0).sum(0) > 0).flatten().tolist()
        start = offset + j * stride
        assert support == [i for i in range(start, start + width) if 0 <= i < length], (j, offset, width, stride)
