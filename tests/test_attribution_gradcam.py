"""GradCAM equals captum's LayerGradCam at the layer; receptive-field averaging matches hand counts and
the RegCNN config; the Zheng variant and grad x activation follow their formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from regsim.models import RegCNNForSequenceClassification, preset_config
from regsim.models.attribution.gradcam import grad_x_act, gradcam, zheng
from regsim.models.attribution.gradients import saliency
from regsim.models.attribution.receptive_field import ReceptiveField, _probe, receptive_field
from test_attribution_toys import random_one_hot, sequential_cnn


def regcnn(name, length, seed=0):
    torch.manual_seed(seed)
    return RegCNNForSequenceClassification(preset_config(name, length)).eval()


def layer_maps(model, layer, X):
    """Activations and their gradients at ``layer``, by hand."""
    captured = {}
    handle = layer.register_forward_hook(lambda m, i, o: captured.__setitem__("a", o))
    x = torch.from_numpy(X)
    out = model(x)
    out = out.logits if hasattr(out, "logits") else out
    (grad,) = torch.autograd.grad(out.sum(), captured["a"])
    handle.remove()
    return captured["a"].detach().numpy(), grad.numpy()


def test_receptive_field_averaging_by_hand():
    # first conv, kernel 3, stride 1, no padding, L = 6: positions p = 0..3 read bases p..p+2
    field = ReceptiveField(np.arange(4), np.arange(4) + 3, 6)
    scores = np.array([[1.0, 2.0, 3.0, 4.0]])
    expected = [1.0, (1 + 2) / 2, (1 + 2 + 3) / 3, (2 + 3 + 4) / 3, (3 + 4) / 2, 4.0]
    np.testing.assert_allclose(field.to_bases(scores), [expected], rtol=1e-6)


def test_receptive_field_of_a_pooled_stack_by_hand():
    # conv k=3 pad 0 -> pool 2 -> conv k=3 pad 1: second conv position q reads pooled q-1..q+1,
    # pooled r reads conv 2r..2r+1, conv p reads bases p..p+2, so q reads bases 2q-2 .. 2q+5 (clipped).
    model = nn.Sequential(nn.Conv1d(4, 2, 3), nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(2, 2, 3, padding=1),
                          nn.Flatten(), nn.Linear(2 * 9, 1)).eval()
    field = receptive_field(model, model[3], 20)
    q = np.arange(9)
    np.testing.assert_array_equal(field.start, np.clip(2 * q - 2, 0, 20))
    np.testing.assert_array_equal(field.stop, np.clip(2 * q + 6, 0, 20))
    probed = _probe(model, model[3], 20, torch.device("cpu"))
    np.testing.assert_array_equal(probed.start, field.start)
    np.testing.assert_array_equal(probed.stop, field.stop)


@pytest.mark.parametrize("name,length,block", [("basset", 200, -1), ("beluga", 200, -1), ("beluga", 200, 0)])
def test_receptive_field_matches_the_regcnn_config(name, length, block):
    model = regcnn(name, length)
    layer = model.conv_blocks[block].activation
    field = receptive_field(model, layer, length)
    offset, width, stride = model.config.receptive_field(block)
    p = np.arange(len(field.start))
    np.testing.assert_array_equal(field.start, np.clip(offset + p * stride, 0, length))
    np.testing.assert_array_equal(field.stop, np.clip(offset + p * stride + width, 0, length))


def test_gradcam_equals_captum_layer_gradcam_then_averaging():
    from captum.attr import LayerGradCam

    model = regcnn("tiny", 60)
    X = random_one_hot(4, 60, seed=3)
    for which, layer in [("last", model.last_conv_activation), ("first", model.first_conv_activation)]:
        theirs = LayerGradCam(model.logit_module(), layer).attribute(torch.from_numpy(X), target=0,
                                                                      relu_attributions=True)
        field = receptive_field(model, layer, 60)
        expected = field.to_bases(theirs.detach().numpy()[:, 0])
        np.testing.assert_allclose(gradcam(model, X, layer=which, batch_size=3), expected, rtol=1e-5, atol=1e-7)


def test_grad_x_act_and_zheng_follow_their_formulas():
    model = sequential_cnn(64)
    X = random_one_hot(3, 64, seed=4)
    act, grad = layer_maps(model, model[0], X)  # "first" = the first Conv1d: a Sequential names no activation
    field = receptive_field(model, model[0], 64)
    np.testing.assert_allclose(grad_x_act(model, X), field.to_bases((act * grad).sum(axis=1)), rtol=1e-5, atol=1e-7)
    cam = field.to_bases(np.maximum((grad.mean(axis=2, keepdims=True) * act).sum(axis=1), 0))
    np.testing.assert_allclose(gradcam(model, X, layer="first"), cam, rtol=1e-5, atol=1e-7)
    gradient = saliency(model, X)
    np.testing.assert_allclose(zheng(model, X), cam[:, None] * gradient * X, rtol=1e-5, atol=1e-7)
    corrected = gradient - gradient.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(zheng(model, X, off_simplex=True), cam[:, None] * corrected * X, rtol=1e-5, atol=1e-7)


def test_layers_by_name_and_batch_size_invariance():
    model = regcnn("tiny", 60)
    X = random_one_hot(5, 60, seed=5)
    by_name = gradcam(model, X, layer="conv_blocks.1.activation")
    np.testing.assert_allclose(gradcam(model, X, layer="last"), by_name, rtol=1e-6)
    np.testing.assert_allclose(gradcam(model, X, layer=model.last_conv_activation, batch_size=2), by_name,
                               rtol=1e-5, atol=1e-7)
    from regsim.dataset_builder.core.errors import UserError

    with pytest.raises(UserError, match="no layer"):
        gradcam(model, X, layer="conv_blocks.9")
