"""``regsim train`` and ``regsim push-model`` on a tiny dataset with a planted motif."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from regsim.cli import main
from regsim.dataset_builder.core.errors import UserError
from regsim.models.train import balanced_batches, load_training_data, predict_logits, train
from tiny_data import write_tiny_dataset

TRAIN_ARGS = dict(arch="tiny", epochs=6, patience=3, batch_size=32, num_threads=1, random_state=0, verbose=False)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny", n_per_class=300, length=40)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "tiny-model"
    results = train(dataset, out=out, **TRAIN_ARGS)
    return out, results


def test_balanced_batches_are_half_and_half_and_cover_the_larger_class():
    labels = np.array([0] * 10 + [1] * 25)
    batches = balanced_batches(labels, 8, np.random.default_rng(0))
    assert len(batches) == 7  # ceil(25 / 4)
    for batch in batches:
        assert len(batch) == 8 and labels[batch].tolist() == [0] * 4 + [1] * 4
    drawn = np.concatenate(batches)
    positives = np.bincount(drawn[labels[drawn] == 1], minlength=35)[10:]
    negatives = np.bincount(drawn[labels[drawn] == 0], minlength=35)[:10]
    assert positives.min() >= 1 and positives.sum() == 28  # every positive once, 3 topped up
    assert set(negatives.tolist()) <= {2, 3} and negatives.sum() == 28  # 28 draws cycled over 10
    again = balanced_batches(labels, 8, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    with pytest.raises(UserError, match="even"):
        balanced_batches(labels, 7, np.random.default_rng(0))


def test_load_training_data_reads_splits_and_provenance(dataset):
    data = load_training_data(dataset)
    assert data.sequence_length == 40
    assert {name: len(s.labels) for name, s in data.splits.items()} == {"train": 360, "validation": 120, "test": 120}
    assert data.splits["train"].class_counts == {"negative": 180, "positive": 180}
    assert data.splits["train"].codes.dtype == np.uint8 and data.splits["train"].codes.shape == (360, 40)
    provenance = data.provenance
    assert provenance["config"] == "tiny" and provenance["version"] == "0.0.1"
    assert provenance["manifest_sha256"] == sha256(dataset / "build_manifest.json")
    assert provenance["data_files"] == {
        f"tiny/{split}-00000-of-00001.parquet": sha256(dataset / f"tiny/{split}-00000-of-00001.parquet")
        for split in ("test", "train", "validation")
    }


def test_training_learns_the_planted_motif_and_reports_real_metrics(trained, dataset):
    from sklearn.metrics import average_precision_score, roc_auc_score
    from transformers import AutoModelForSequenceClassification

    out, results = trained
    assert json.loads((out / "eval_results.json").read_text()) == results
    assert results["test_auroc"] >= 0.85
    log = json.loads((out / "training_log.json").read_text())
    history = log["history"]
    assert results["epochs"] == len(history)
    best = max(history, key=lambda row: row["validation_auprc"])
    assert results["best_epoch"] == best["epoch"]
    stopped_early = results["epochs"] - results["best_epoch"] >= TRAIN_ARGS["patience"]
    assert results["stopped"] == ("early_stopping" if stopped_early else "max_epochs")
    # The saved weights are the best epoch's: recompute every metric from the reloaded model.
    model = AutoModelForSequenceClassification.from_pretrained(out)
    data = load_training_data(dataset)
    for split in ("test", "validation"):
        logits = predict_logits(model, data.splits[split].codes)
        assert results[f"{split}_auroc"] == pytest.approx(roc_auc_score(data.splits[split].labels, logits), abs=1e-12)
        assert results[f"{split}_auprc"] == pytest.approx(average_precision_score(data.splits[split].labels, logits), abs=1e-12)
    assert results["validation_auprc"] == pytest.approx(best["validation_auprc"], abs=1e-12)
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "config.json", "configuration_regcnn.py", "eval_results.json", "model.safetensors",
        "modeling_regcnn.py", "training_curves.png", "training_log.json",
    ]
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["version"] == "0.0.1" and config["training"]["seed"] == 0
    assert log["hyperparameters"]["learning_rate"] == 1e-3 and log["hyperparameters"]["num_threads"] == 1


def test_same_seed_gives_identical_weights_and_test_labels_do_not_matter(trained, dataset, tmp_path):
    """A second run is bit-identical; so is a run on a copy whose test labels are flipped (the test
    split never influences training or model selection)."""
    out, results = trained
    again = train(dataset, out=tmp_path / "again", **TRAIN_ARGS)
    assert sha256(tmp_path / "again" / "model.safetensors") == sha256(out / "model.safetensors")
    assert {k: v for k, v in again.items() if k != "train_seconds"} == {k: v for k, v in results.items() if k != "train_seconds"}

    flipped = tmp_path / "flipped"
    shutil.copytree(dataset, flipped)
    test_file = flipped / "tiny" / "test-00000-of-00001.parquet"
    from datasets import Dataset

    table = Dataset.from_parquet(str(test_file), cache_dir=str(tmp_path / "cache"))
    table.map(lambda row: {"label": 1 - row["label"]}).to_parquet(str(test_file))
    (flipped / "build_manifest.json").unlink()
    flipped_results = train(flipped, out=tmp_path / "flipped-model", **TRAIN_ARGS)
    assert sha256(tmp_path / "flipped-model" / "model.safetensors") == sha256(out / "model.safetensors")
    assert flipped_results["test_auroc"] == pytest.approx(1 - results["test_auroc"], abs=1e-12)

    other_seed = train(dataset, out=tmp_path / "seed1", **{**TRAIN_ARGS, "random_state": 1, "epochs": 1})
    assert other_seed["epochs"] == 1
    assert sha256(tmp_path / "seed1" / "model.safetensors") != sha256(out / "model.safetensors")


def test_model_card_is_generated_from_the_results(trained):
    from huggingface_hub import ModelCard

    out, results = trained
    card = ModelCard.load(out / "README.md")
    assert card.data.library_name == "transformers"
    values = {(r.dataset_split, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert values == {
        ("test", "roc_auc"): results["test_auroc"],
        ("test", "average_precision"): results["test_auprc"],
        ("validation", "average_precision"): results["validation_auprc"],
    }
    assert {r.dataset_config for r in card.data.eval_results} == {"tiny"}
    assert card.data.eval_results[0].dataset_args["version"] == "0.0.1"
    text = card.text
    assert "{{" not in text and "{%" not in text
    log = json.loads((out / "training_log.json").read_text())
    for row in log["history"]:
        assert (f"| {row['epoch']} | {row['batches']} | {row['learning_rate']} | {row['train_loss']:.4f} | "
                f"{row['validation_loss']:.4f} | {row['validation_auroc']:.4f} | {row['validation_auprc']:.4f} |") in text
    for path, digest in log["data"]["data_files"].items():
        assert f"| `{path}` | `{digest}` |" in text
    assert f"| test | {results['test_size']} | {results['test_auroc']:.4f} | {results['test_auprc']:.4f} |" in text
    assert f"{log['parameters']:,} parameters" in text


def test_refuses_to_overwrite_without_force(trained, dataset, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="already exists; pass --force"):
        train(dataset, out=out, **TRAIN_ARGS)
    assert (out / "keep.txt").exists()
    with pytest.raises(UserError, match="not a regsim model folder"):  # --force never deletes a foreign folder
        train(dataset, out=out, force=True, **TRAIN_ARGS)
    assert (out / "keep.txt").read_text() == "x"
    shutil.rmtree(out)
    shutil.copytree(trained[0], out)  # a model folder regsim wrote: --force replaces it
    results = train(dataset, out=out, force=True, **{**TRAIN_ARGS, "epochs": 1})
    assert results["epochs"] == 1 and json.loads((out / "eval_results.json").read_text())["epochs"] == 1
    assert not list(tmp_path.glob(".model*"))


def test_max_minutes_stops_after_the_first_batch(dataset, tmp_path):
    results = train(dataset, out=tmp_path / "m", max_minutes=1e-9, **TRAIN_ARGS)
    log = json.loads((tmp_path / "m" / "training_log.json").read_text())
    assert results["stopped"] == "max_minutes" and results["epochs"] == 1
    assert log["history"][0]["batches"] == 1


def test_bad_datasets_are_user_errors(dataset, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_training_data(tmp_path / "missing")
    one_class = tmp_path / "one-class"
    shutil.copytree(dataset, one_class)
    from datasets import Dataset

    validation = one_class / "tiny" / "validation-00000-of-00001.parquet"
    Dataset.from_parquet(str(validation), cache_dir=str(tmp_path / "cache")).filter(lambda row: row["label"] == 1).to_parquet(str(validation))
    (one_class / "build_manifest.json").unlink()
    with pytest.raises(UserError, match="split validation has no negative example"):
        load_training_data(one_class)
    tampered = tmp_path / "tampered"
    shutil.copytree(dataset, tampered)
    manifest = json.loads((tampered / "build_manifest.json").read_text())
    manifest["outputs"]["tiny/train-00000-of-00001.parquet"] = "0" * 64
    (tampered / "build_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match=r"differs from 0{64} in .*build_manifest.json"):
        load_training_data(tampered)
    with pytest.raises(UserError, match="too short"):
        train(dataset, arch="basset", out=tmp_path / "short", verbose=False)  # L = 40 < 48


def test_cli_train_and_errors(dataset, tmp_path, capsys):
    out = tmp_path / "cli-model"
    status = main(["train", "--dataset", str(dataset), "--arch", "tiny", "--out", str(out), "--epochs", "1", "--batch-size", "32"])
    assert status == 0 and (out / "model.safetensors").is_file()
    assert "epoch 1/1: train loss" in capsys.readouterr().err
    assert main(["train", "--dataset", str(dataset), "--arch", "tiny", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"regsim train: error: {out} already exists; pass --force to replace it"]
    assert main(["train", "--dataset", str(tmp_path / "nope"), "--arch", "tiny", "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--dataset", str(dataset), "--arch", "tiny", "--out", str(tmp_path / "y"), "--batch-size", "31"]) == 2


def test_push_model_dry_run_lists_exact_files_and_contacts_nothing(trained, tmp_path, capsys, monkeypatch):
    import huggingface_hub

    out, _ = trained
    folder = tmp_path / "push"
    shutil.copytree(out, folder)
    (folder / ".cache").mkdir()
    (folder / ".cache" / "x").write_text("local")

    def no_network(*args, **kwargs):
        raise AssertionError("the dry run contacted the Hub")

    monkeypatch.setattr(huggingface_hub, "HfApi", no_network)
    assert main(["push-model", str(folder), "--repo-id", "my-org/tiny-model", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "https://huggingface.co/my-org/tiny-model" in printed and "public" in printed
    files = sorted(p for p in folder.iterdir() if p.is_file())
    for path in files:
        line = next(l for l in printed.splitlines() if l.endswith(f"  {path.name}"))
        digest, size, _ = line.split()
        assert digest == sha256(path) and int(size.replace(",", "")) == path.stat().st_size
    assert f"{len(files)} files" in printed and "not uploaded: .cache (hidden)" in printed
    assert "tag: v1.0.0" in printed


def test_push_model_uploads_exactly_the_plan(trained, tmp_path, monkeypatch):
    import huggingface_hub

    from regsim.models.push_model import push_model

    out, _ = trained
    calls = []

    class FakeApi:
        def __init__(self, token=None):
            calls.append(("init", token))

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))

        def create_commit(self, repo_id, operations, **kwargs):
            calls.append(("create_commit", repo_id, sorted((op.path_in_repo, op.path_or_fileobj) for op in operations)))
            return type("Commit", (), {"commit_url": "https://huggingface.co/x/y/commit/1", "oid": "abc"})()

        def create_tag(self, repo_id, **kwargs):
            calls.append(("create_tag", repo_id, kwargs["tag"], kwargs["revision"]))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    plan = push_model(out, "my-org/tiny-model", private=True, version="2.1.0", token="t0", verbose=False)
    assert calls[0] == ("init", "t0") and calls[3] == ("create_tag", "my-org/tiny-model", "v2.1.0", "abc")
    assert calls[1] == ("create_repo", "my-org/tiny-model", {"repo_type": "model", "private": True, "exist_ok": True})
    assert calls[2][2] == [(f["path"], str(out / f["path"])) for f in plan.files]
    assert [f["path"] for f in plan.files] == sorted(p.name for p in out.iterdir())


def test_push_model_refuses_bad_input(trained, tmp_path):
    from regsim.models.push_model import push_model

    out, _ = trained
    with pytest.raises(UserError, match="ORG/NAME"):
        push_model(out, "no-org", dry_run=True)
    with pytest.raises(UserError, match="no README.md"):
        folder = tmp_path / "incomplete"
        shutil.copytree(out, folder)
        (folder / "README.md").unlink()
        push_model(folder, "org/name", dry_run=True)
    folder = tmp_path / "pickled"
    shutil.copytree(out, folder)
    torch.save({}, folder / "pytorch_model.bin")
    with pytest.raises(UserError, match="pickle"):
        push_model(folder, "org/name", dry_run=True)


def test_shift_moves_each_row_and_fills_with_n():
    from regsim.models.train import _shift_some

    codes = np.arange(8, dtype=np.uint8)[None].repeat(400, axis=0) % 4
    rng = np.random.default_rng(3)
    shifted = _shift_some(codes, 2, rng)
    shifts = np.random.default_rng(3).integers(-2, 3, size=400)
    assert set(shifts.tolist()) == {-2, -1, 0, 1, 2}
    for row, shift in zip(shifted, shifts):
        expected = [4] * shift + list(codes[0][: 8 - shift]) if shift >= 0 else list(codes[0][-shift:]) + [4] * -shift
        assert row.tolist() == expected


def test_recipe_options_are_applied_recorded_and_deterministic(dataset, tmp_path):
    """Plateau schedule, weight decay (AdamW), shifts and a layer override: the learning rate halves
    exactly after 2 epochs without a better validation auPRC, everything is in the log, and a second
    run gives the same weights."""
    options = {**TRAIN_ARGS, "epochs": 8, "patience": 8, "learning_rate": 0.02, "lr_schedule": "plateau",
               "weight_decay": 0.05, "max_shift": 3, "config_overrides": {"dense_dropout": 0.4}}
    first = train(dataset, out=tmp_path / "a" / "m", **options)
    log = json.loads((tmp_path / "a" / "m" / "training_log.json").read_text())
    hyper = log["hyperparameters"]
    assert hyper["optimizer"] == "AdamW" and hyper["weight_decay"] == 0.05 and hyper["learning_rate"] == 0.02
    assert hyper["max_shift"] == 3 and "random shift of up to 3 bp" in hyper["augmentation"]
    assert hyper["config_overrides"] == {"dense_dropout": 0.4}
    assert json.loads((tmp_path / "a" / "m" / "config.json").read_text())["dense_dropout"] == 0.4
    # the schedule, replayed from the logged validation auPRCs
    rate, best, since = 0.02, -1.0, 0
    for row in log["history"]:
        assert row["learning_rate"] == rate
        if row["validation_auprc"] > best:
            best, since = row["validation_auprc"], 0
        else:
            since += 1
        if since >= 2:
            rate, since = rate / 2, 0
    assert len({row["learning_rate"] for row in log["history"]}) > 1  # the schedule did act
    # validation loss: binary cross-entropy of the kept model's logits at the best epoch
    model_log = log["history"][first["best_epoch"] - 1]
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "a" / "m")
    data = load_training_data(dataset)
    z = predict_logits(model, data.splits["validation"].codes).astype(np.float64)
    y = data.splits["validation"].labels
    assert model_log["validation_loss"] == pytest.approx(np.mean(np.log1p(np.exp(-z)) + (1 - y) * z), rel=1e-5)

    train(dataset, out=tmp_path / "b" / "m", **options)
    for name in ("model.safetensors", "training_curves.png"):
        assert sha256(tmp_path / "b" / "m" / name) == sha256(tmp_path / "a" / "m" / name)
    train(dataset, out=tmp_path / "c", **{**options, "max_shift": 0})
    assert sha256(tmp_path / "c" / "model.safetensors") != sha256(tmp_path / "a" / "m" / "model.safetensors")


def test_training_curves_plot_and_card(trained, tmp_path):
    from PIL import Image

    from regsim.models.plot_training_curves import plot_training_curves

    out, _ = trained
    png = out / "training_curves.png"
    assert Image.open(png).size == (900, 340)
    again = plot_training_curves(out, tmp_path / "curves.png")  # title: the folder's name, as in training
    assert again.read_bytes() == png.read_bytes()
    other = plot_training_curves(out, tmp_path / "other.png", title="another title")
    assert other.read_bytes() != png.read_bytes()
    assert "![Training curves: loss and validation auPRC per epoch](training_curves.png)" in (out / "README.md").read_text()
    with pytest.raises(ValueError, match="empty history"):
        plot_training_curves([], tmp_path / "none.png")


def test_recipe_flags_and_bad_values(dataset, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--dataset", str(dataset), "--arch", "tiny", "--out", str(out), "--epochs", "1",
                 "--batch-size", "32", "--learning-rate", "0.003", "--weight-decay", "0.01", "--lr-schedule", "plateau",
                 "--max-shift", "2", "--set", "dense_units=[8]", "--set", "conv_batch_norm=false"]) == 0
    hyper = json.loads((out / "training_log.json").read_text())["hyperparameters"]
    assert (hyper["learning_rate"], hyper["weight_decay"], hyper["max_shift"]) == (0.003, 0.01, 2)
    config = json.loads((out / "config.json").read_text())
    assert config["dense_units"] == [8] and config["conv_batch_norm"] is False
    capsys.readouterr()
    base = ["train", "--dataset", str(dataset), "--arch", "tiny", "--out", str(tmp_path / "x")]
    for flags, message in [
        (["--set", "dense_units"], "--set dense_units: expected FIELD=VALUE"),
        (["--set", "nope=1"], "--set nope: not a model configuration field"),
        (["--set", "dense_units=[8"], "--set dense_units=[8: the value is not JSON"),
        (["--set", "dense_dropout=1.5"], "--arch tiny: dropout probabilities must be in [0, 1)"),
        (["--weight-decay", "-1"], "--weight-decay must be >= 0"),
        (["--learning-rate", "0"], "--learning-rate must be positive"),
        (["--max-shift", "-1"], "--max-shift must be >= 0"),
    ]:
        assert main(base + flags) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (flags, err)
    assert not (tmp_path / "x").exists()


def test_reference_recipe_keeps_the_best_of_all_epochs(dataset, tmp_path):
    from regsim.models.train import RECIPES

    assert (RECIPES["reference"].epochs, RECIPES["reference"].patience, RECIPES["reference"].learning_rate) == (40, 40, 1e-3)
    assert RECIPES["reference"].batch_size == 64
    results = train(dataset, arch="reference", out=tmp_path / "ref", epochs=4, num_threads=1, verbose=False)
    assert results["epochs"] == 4 and results["stopped"] == "max_epochs"  # patience 40: never stops early
    config = json.loads((tmp_path / "ref" / "config.json").read_text())
    assert config["preset"] == "reference" and config["pool_sizes"] == [40 - 15 + 1]
