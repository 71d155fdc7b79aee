"""`regsim attribute` in shards: files assembled from shards have the bytes of whole arrays, the shard size
changes values only by float32 rounding, and `accelerate launch` with 2 CPU processes writes the same files."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from regsim.models import RegCNNForSequenceClassification, preset_config
from regsim.models.attribution import attribute as attribute_module
from regsim.models.attribution._shards import assemble, write_shard
from regsim.models.attribution.attribute import attribute, run_attributions, save_npz
from tiny_data import write_tiny_dataset


def one_hot(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))].transpose(0, 2, 1).copy()


def tiny_model(length=40):
    torch.manual_seed(0)
    return RegCNNForSequenceClassification(preset_config("tiny", length)).eval()


def test_assembled_file_has_the_bytes_of_save_npz(tmp_path):
    rng = np.random.default_rng(1)
    whole = {"attributions": rng.normal(size=(7, 4, 9)).astype(np.float32),
             "output_difference": rng.normal(size=7)}
    ids = np.asarray([f"seq-{i}" for i in range(7)], dtype=np.str_)
    save_npz(tmp_path / "expected.npz", **whole, ids=ids)
    for k, rows in enumerate([slice(0, 3), slice(3, 4), slice(4, 7)]):
        write_shard(tmp_path / "shards", k, {name: array[rows] for name, array in whole.items()})
    shapes = assemble(tmp_path / "shards", 3, tmp_path / "got.npz",
                      [("attributions", "attributions"), ("output_difference", "output_difference"), ("ids", ids)])
    assert shapes == {"attributions": (7, 4, 9), "output_difference": (7,), "ids": (7,)}
    assert (tmp_path / "got.npz").read_bytes() == (tmp_path / "expected.npz").read_bytes()


def test_shards_bound_the_rows_per_call_and_match_a_whole_run(tmp_path, monkeypatch):
    X, model = one_hot(11, 40), tiny_model()
    ids = [f"s{i}" for i in range(11)]
    calls = []

    def spy(model, X, method, reference=None, *, rows=None, **kwargs):
        calls.append(rows.stop - rows.start)
        return attribute(model, X, method, reference, rows=rows, **kwargs)

    monkeypatch.setattr(attribute_module, "attribute", spy)
    runs = dict(methods=["deepshap", "ism"], references=["shuffled", "base_freq"], n_refs=3, random_state=7,
                log=lambda line: None)
    run_attributions(model, X, ids, out_dir=tmp_path / "small", shard_size=4, **runs)
    assert calls == [4, 4, 3] * 3  # deepshap x 2 references, then ism; never more than a shard
    run_attributions(model, X, ids, out_dir=tmp_path / "one", shard_size=100, **runs)
    assert not (tmp_path / "small" / ".shards").exists()
    for name in ["deepshap__shuffled.npz", "deepshap__base_freq.npz", "ism__none.npz"]:
        with np.load(tmp_path / "small" / name) as small, np.load(tmp_path / "one" / name) as one:
            assert small.files == one.files
            assert list(small["ids"]) == ids
            np.testing.assert_array_equal(small["sequences"], X)
            for key in small.files:
                if key not in ("ids", "sequences"):
                    np.testing.assert_allclose(small[key], one[key], rtol=1e-5, atol=1e-6)
    # The shuffled references and base frequencies of a shard are those of the whole set.
    whole = attribute(model, X, "deepshap", "base_freq", n_refs=3, random_state=7)
    with np.load(tmp_path / "small" / "deepshap__base_freq.npz") as small:
        np.testing.assert_allclose(small["attributions"], whole.attributions, rtol=1e-5, atol=1e-6)
    summary = json.loads((tmp_path / "small" / "summary.json").read_text())
    assert {e["file"]: e["processes"] for e in summary["files"]} == {
        "deepshap__base_freq.npz": 1, "deepshap__shuffled.npz": 1, "ism__none.npz": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_accelerate_launch_with_two_cpu_processes_writes_the_same_files(tmp_path):
    dataset = write_tiny_dataset(tmp_path / "data", n_per_class=15, length=40)
    tiny_model().save_pretrained(tmp_path / "model")
    args = ["-m", "regsim", "attribute", "--model", str(tmp_path / "model"), "--dataset", str(dataset),
            "--split", "train", "--methods", "deepshap,ism,gradcam_first", "--n-refs", "3", "--shard-size", "5",
            "--quiet"]
    env = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PATH": str(Path(sys.executable).parent)}
    subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one")], check=True, env=env, capture_output=True)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "--main_process_port", str(free_port())]
    done = subprocess.run([*launch, *args, "--out", str(tmp_path / "two")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("wrote") == 1  # one voice: the main process
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert {e["processes"] for e in summary["files"]} == {2}
    names = sorted(p.name for p in (tmp_path / "one").glob("*.npz"))
    assert names == sorted(p.name for p in (tmp_path / "two").glob("*.npz")) == [
        "deepshap__shuffled.npz", "gradcam_first__none.npz", "ism__none.npz"]
    for name in names:
        with np.load(tmp_path / "one" / name) as one, np.load(tmp_path / "two" / name) as two:
            assert one.files == two.files
            assert list(one["ids"]) == list(two["ids"]) and len(one["ids"]) == 18  # 60 % of 30 rows
            for key in one.files:
                if key != "ids":
                    np.testing.assert_allclose(one[key], two[key], rtol=1e-5, atol=1e-7)
