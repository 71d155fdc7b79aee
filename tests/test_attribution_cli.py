"""`regsim attribute` end to end: a saved tiny RegCNN, a tiny dataset folder, the files and summary it
writes, byte-identical re-runs, modisco-lite inputs and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from regsim.cli import main
from regsim.dataset_builder.core.sequences import one_hot_encode
from regsim.models import RegCNNForSequenceClassification, preset_config
from regsim.models.attribution.attribute import attribute, method_names, plan
from tiny_data import write_tiny_dataset


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("attribute")
    dataset = write_tiny_dataset(root / "data", n_per_class=10, length=50)
    torch.manual_seed(0)
    model = RegCNNForSequenceClassification(preset_config("tiny", 50)).eval()
    model.save_pretrained(root / "model")
    return root, dataset, model


def run(root, dataset, out, *extra):
    return main(["attribute", "--model", str(root / "model"), "--dataset", str(dataset), "--split", "test",
                 "--limit", "3", "--n-refs", "3", "--quiet", "--out", str(out), *extra])


def test_attribute_writes_every_file_with_its_summary(inputs, capsys):
    root, dataset, model = inputs
    out = root / "attr"
    methods = "ism,deepshap,gradcam_first,integrated_gradients_5steps,grad_x_input_offsimplex"
    assert run(root, dataset, out, "--methods", methods, "--references", "shuffled,zeros", "--modisco") == 0
    summary = json.loads((out / "summary.json").read_text())
    files = {e["file"]: e for e in summary["files"]}
    assert set(files) == {
        "ism__none.npz", "deepshap__shuffled.npz", "deepshap__zeros.npz", "gradcam_first__none.npz",
        "integrated_gradients_5steps__shuffled.npz", "integrated_gradients_5steps__zeros.npz",
        "grad_x_input_offsimplex__none.npz",
    }
    assert summary["split"] == "test" and summary["n_sequences"] == 3 and summary["config"] == "tiny"

    from datasets import load_dataset

    test = load_dataset(str(dataset), "tiny", split="test")
    X = one_hot_encode(test["sequence"][:3])
    with np.load(out / "deepshap__shuffled.npz") as data:
        assert list(data["ids"]) == test["id"][:3]
        np.testing.assert_array_equal(data["sequences"], X)
        np.testing.assert_allclose(data["attributions"], data["hypothetical"] * X, rtol=1e-6)
        expected = attribute(model, X, "deepshap", "shuffled", n_refs=3)
        np.testing.assert_allclose(data["attributions"], expected.attributions, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(data["attribution_sum"], data["output_difference"], rtol=1e-4, atol=1e-7)
    entry = files["deepshap__shuffled.npz"]
    assert entry["completeness_max_rel"] <= 1e-4 and entry["completeness_median_rel"] <= entry["completeness_max_rel"]
    assert entry["settings"]["n_refs"] == 3 and entry["seconds"] > 0
    assert "completeness_max_rel" in files["integrated_gradients_5steps__zeros.npz"]
    assert files["integrated_gradients_5steps__zeros.npz"]["settings"]["n_steps"] == 5
    assert files["grad_x_input_offsimplex__none.npz"]["settings"]["off_simplex"] is True
    with np.load(out / "ism__none.npz") as data:
        assert data["attributions"].shape == (3, 4, 50) and data["importance"].shape == (3, 50)
    with np.load(out / "gradcam_first__none.npz") as data:
        assert data["attributions"].shape == (3, 50)
    with np.load(out / "modisco" / "ohe.npz") as ohe, np.load(out / "modisco" / "deepshap__shuffled.npz") as hyp:
        np.testing.assert_array_equal(ohe["arr_0"], X)
        assert hyp["arr_0"].shape == (3, 4, 50)
    assert "deepshap__shuffled.npz" in capsys.readouterr().out


def test_reruns_are_byte_identical_and_summaries_merge(inputs):
    root, dataset, _ = inputs
    a, b = root / "a", root / "b"
    assert run(root, dataset, a, "--methods", "deepshap", "--references", "shuffled") == 0
    assert run(root, dataset, b, "--methods", "deepshap", "--references", "shuffled") == 0
    assert (a / "deepshap__shuffled.npz").read_bytes() == (b / "deepshap__shuffled.npz").read_bytes()
    assert run(root, dataset, a, "--methods", "saliency") == 0
    files = [e["file"] for e in json.loads((a / "summary.json").read_text())["files"]]
    assert files == ["deepshap__shuffled.npz", "saliency__none.npz"]


def test_errors_are_one_line_user_errors(inputs, capsys):
    root, dataset, _ = inputs
    assert run(root, dataset, root / "e1", "--methods", "nope") == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert run(root, dataset, root / "e2", "--methods", "gradcam_last_offsimplex") == 2
    assert "not gradient-based" in capsys.readouterr().err
    assert run(root, dataset, root / "e3", "--methods", "deeplift", "--references", "ones") == 2
    assert "unknown reference 'ones'" in capsys.readouterr().err
    assert run(root, dataset, root / "e4", "--methods", "ism", "--split", "nosuch") == 2
    assert "no split 'nosuch'" in capsys.readouterr().err
    assert main(["attribute", "--model", str(root / "missing"), "--dataset", str(dataset), "--methods", "ism",
                 "--out", str(root / "e5")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_plan_covers_the_benchmark_grid():
    runs = plan(["grad_x_input", "deeplift", "integrated_gradients_10steps", "ism", "gradcam_last",
                 "gradcam_first", "zheng", "grad_x_act_first", "deeplift_first"],
                ["zeros", "base_freq", "shuffled10", "shuffled20", "shuffled50"])
    assert ("deeplift", "shuffled50") in runs and ("ism", "none") in runs
    assert ("deeplift_first", "base_freq") in runs and len(runs) == 6 + 3 * 5
    assert "deepshap_offsimplex" in method_names() and "ism_offsimplex" not in method_names()
