"""``regsim train --arch gkmsvm`` (gkmsvm-lite), its model folder, GkmExplain and ISM through ``regsim attribute``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from regsim.cli import main
from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.sequences import one_hot_from_integers
from regsim.models.attribution.attribute import attribute
from regsim.models.gkmsvm import load_gkmsvm, subsample, train_gkmsvm
from regsim.models.train import load_training_data
from tiny_data import write_tiny_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n_per_class=80, length=50)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "tiny-gkmsvm"
    results = train_gkmsvm(dataset, out=out, max_per_class=40, verbose=False)
    return out, results


def test_folder_contract_and_metrics_recomputed_from_the_saved_model(trained, dataset):
    from safetensors import safe_open
    from sklearn.metrics import average_precision_score, roc_auc_score

    out, results = trained
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "eval_results.json",
                                                      "model.safetensors", "training_log.json"]
    with safe_open(str(out / "model.safetensors"), framework="numpy") as handle:  # no pickle anywhere
        assert set(handle.keys()) == {"support_sequences", "coefficients"}
        assert handle.get_tensor("support_sequences").dtype == np.uint8
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "gkmsvm" and config["kernel_type"] == "gkm_esttrunc"
    assert config["kernel_params"]["L"] == 11 and config["kernel_params"]["k"] == 7 and config["kernel_params"]["d"] == 3
    # The saved model reproduces the recorded test metrics.
    model = load_gkmsvm(out)
    test = load_training_data(dataset).splits["test"]
    scores = model.decision_function(one_hot_from_integers(test.codes))
    assert results["test_auroc"] == pytest.approx(roc_auc_score(test.labels, scores), abs=1e-12)
    assert results["test_auprc"] == pytest.approx(average_precision_score(test.labels, scores), abs=1e-12)
    assert results["test_auroc"] >= 0.9  # the planted octamer is easy for a gapped k-mer model
    # 40 + 40 of the 96 training sequences were used; the rest are counted, not dropped silently.
    log = json.loads((out / "training_log.json").read_text())
    assert results["train_sequences_used"] == 80 and log["subsample"]["dropped"] == results["train_size"] - 80
    card = (out / "README.md").read_text()
    assert f"{results['test_auroc']:.4f}" in card and "80 of 96" in card and "gkm_esttrunc" in card


def test_subsample_is_per_class_deterministic_and_order_free():
    labels = np.array([1] * 30 + [0] * 50)
    keep = subsample(labels, 20, random_state=3)
    assert (labels[keep] == 1).sum() == 20 and (labels[keep] == 0).sum() == 20
    assert np.array_equal(keep, subsample(labels, 20, random_state=3))
    assert not np.array_equal(keep, subsample(labels, 20, random_state=4))
    assert np.array_equal(subsample(labels, 100, random_state=3), np.arange(80))


def test_gkmexplain_completeness_and_ism_against_brute_force(trained, dataset):
    out, _ = trained
    model = load_gkmsvm(out)
    test = load_training_data(dataset).splits["test"]
    X = one_hot_from_integers(test.codes[:6])
    result = attribute(model, X, "gkmexplain")
    assert result.completeness.relative_error.max() < 1e-6
    expected = model.decision_function(X) - model.bias
    np.testing.assert_allclose(result.attributions.sum(axis=(1, 2)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.arrays["hypothetical"] * X, result.attributions, rtol=1e-6)
    ism = attribute(model, X[:2], "ism").attributions
    base = model.decision_function(X[:2])
    for seq, pos, new in [(0, 0, 2), (0, 25, 1), (1, 49, 3), (1, 13, 0)]:
        mutant = X[seq:seq + 1].copy()
        if mutant[0, new, pos] == 1:
            assert ism[seq, new, pos] == 0
            continue
        mutant[0, :, pos] = 0
        mutant[0, new, pos] = 1
        assert ism[seq, new, pos] == pytest.approx(model.decision_function(mutant)[0] - base[seq], rel=1e-4, abs=1e-6)
    with pytest.raises(UserError, match="needs a neural network"):
        attribute(model, X, "deepshap")


def test_cli_train_attribute_and_push(dataset, tmp_path, capsys):
    out = tmp_path / "svm"
    assert main(["train", "--dataset", str(dataset), "--arch", "gkmsvm", "--out", str(out), "--gkm-max-per-class",
                 "30", "--gkm-l", "8", "--gkm-k", "5", "--gkm-d", "2"]) == 0
    assert json.loads((out / "config.json").read_text())["kernel_params"]["L"] == 8
    attr = tmp_path / "attr"
    assert main(["attribute", "--model", str(out), "--dataset", str(dataset), "--methods", "gkmexplain,ism",
                 "--limit", "5", "--out", str(attr), "--quiet"]) == 0
    summary = json.loads((attr / "summary.json").read_text())
    entries = {e["method"]: e for e in summary["files"]}
    assert set(entries) == {"gkmexplain", "ism"}
    assert entries["gkmexplain"]["completeness_max_rel"] < 1e-3
    assert main(["push-model", str(out), "--repo-id", "me/svm", "--dry-run"]) == 0
    assert "model.safetensors" in capsys.readouterr().out
    capsys.readouterr()
    assert main(["train", "--dataset", str(dataset), "--arch", "gkmsvm", "--out", str(tmp_path / "x"),
                 "--gkm-k", "12"]) == 2
    assert "gkm-SVM words need" in capsys.readouterr().err
    assert main(["attribute", "--model", str(out), "--dataset", str(dataset), "--methods", "saliency",
                 "--out", str(attr)]) == 2
