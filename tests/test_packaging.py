"""The wheel, installed as a user would: one top-level name, and it works next to the user's own code.

Builds the wheel from the tracked files, checks its top-level names, installs it into a fresh virtual
environment (torch first, as the Makefile does) and, from a project folder holding its own ``models.py``
and ``metrics/`` package, runs the command, imports the API and loads the evaluate module by
``regsim.metrics.METRIC_PATH``. Slow (about a minute: a real install from the package index's cache).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

CHECKS = textwrap.dedent(
    """
    import json, os, sys
    import regsim.models
    from transformers import CONFIG_MAPPING, MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING
    from regsim.metrics import METRIC_PATH, score_attributions
    import evaluate, numpy as np
    import models, metrics  # the user's own modules still win
    metric = evaluate.load(METRIC_PATH)
    predictions = [[0.1, 0.9, 0.8, 0.2, 0.0], [0.3, 0.3, 0.3, 0.3, 0.3]]
    references = [[0, 1, 1, 0, 0], [0, 0, 1, 1, 0]]
    scores = metric.compute(predictions=predictions, references=references)
    core = score_attributions(predictions, references)
    print(json.dumps({
        "registered": "regcnn" in CONFIG_MAPPING
        and CONFIG_MAPPING["regcnn"] in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING,
        "metric_path_outside_cwd": not os.path.abspath(METRIC_PATH).startswith(os.getcwd()),
        "auroc": scores["auroc_mean"], "auprc": scores["auprc_mean"], "core_auprc": float(core["auprc_mean"]),
        "user_models": models.MINE, "user_metrics": metrics.MINE,
        "regsim_file": regsim.models.__file__,
    }))
    """
)


def _run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    listed = _run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT).stdout.split()
    for name in listed:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)])
    (path,) = out.glob("regsim-*.whl")
    return path


def test_wheel_holds_only_regsim(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"regsim", wheel.name.split("-py")[0] + ".dist-info"}
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    for needed in ("regsim/cli.py", "regsim/__main__.py", "regsim/cards/model_card.md.j2",
                   "regsim/metrics/motif_attribution/motif_attribution.py",
                   "regsim/metrics/benchmark/paper_numbers.tsv",
                   "regsim/dataset_builder/data/oct4_mafk/oct4_peaks_200bp.fa.gz"):
        assert needed in names
    assert not any(name.startswith(("regsim/tests/", "regsim/benchmarks/")) for name in names)


def test_installed_wheel_beside_user_modules(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python, regsim = venv / "bin" / "python", venv / "bin" / "regsim"
    _run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], timeout=900)
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], timeout=900)
    project = tmp_path / "project"
    (project / "metrics").mkdir(parents=True)
    (project / "models.py").write_text("MINE = 'models.py'\n")
    (project / "metrics" / "__init__.py").write_text("MINE = 'metrics/'\n")
    env = {**os.environ, "PYTHONPATH": ".", "HF_HUB_OFFLINE": "1"}
    help_text = _run([str(regsim), "--help"], cwd=project, env=env).stdout
    assert "benchmark" in help_text and "attribute" in help_text
    assert "usage: regsim train" in _run([str(regsim), "train", "--help"], cwd=project, env=env).stdout
    assert "usage: regsim" in _run([str(python), "-m", "regsim", "--help"], cwd=project, env=env).stdout
    report = json.loads(_run([str(python), "-c", CHECKS], cwd=project, env=env).stdout.strip().splitlines()[-1])
    assert report["registered"] and report["metric_path_outside_cwd"]
    assert report["user_models"] == "models.py" and report["user_metrics"] == "metrics/"
    # the metric card's worked example: (0.75, 0.7), computed by hand there
    assert report["auroc"] == pytest.approx(0.75) and report["auprc"] == pytest.approx(0.7)
    assert report["core_auprc"] == pytest.approx(0.7)
    assert "site-packages" in report["regsim_file"]
