"""docs/tutorial.md runs as written: every ``bash`` and ``python`` block, in order, in a fresh folder
(``sh`` blocks are the install and are not run). Slow: the tutorial trains a model on the embedded data
(minutes); `pytest -m slow tests/test_tutorial.py -s` prints each block's time."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```(bash|python|sh)\n(.*?)^```", re.S | re.M)


def blocks():
    return [(kind, code) for kind, code in BLOCK.findall(TUTORIAL.read_text()) if kind != "sh"]


def test_the_tutorial_has_the_blocks_the_test_runs():
    kinds = [kind for kind, _ in blocks()]
    assert kinds.count("bash") == 6 and kinds[-1] == "python"
    commands = " ".join(code for kind, code in blocks() if kind == "bash")
    for command in ("regsim build", "regsim train", "regsim attribute", "regsim score", "regsim plot", "regsim motifs"):
        assert command in commands


@pytest.mark.slow
def test_tutorial_runs(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    started = time.perf_counter()
    for kind, code in blocks():
        command = ["bash", "-euo", "pipefail", "-c", code] if kind == "bash" else [sys.executable, "-c", code]
        block_start = time.perf_counter()
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, f"{code}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        print(f"[{time.perf_counter() - block_start:7.1f} s] {code.splitlines()[0]}")
    print(f"tutorial: {(time.perf_counter() - started) / 60:.1f} min")
    assert (tmp_path / "logo.png").read_bytes()[:4] == b"\x89PNG"
    with open(tmp_path / "attr" / "scores.csv") as handle:
        scores = {row["file"]: float(row["auprc_mean"]) for row in csv.DictReader(handle)}
    assert set(scores) == {"deepshap__shuffled20.npz", "grad_x_input__none.npz"}
    with open(tmp_path / "motifs" / "rediscovery.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    found = {row["motif_id"].split(".")[0] for row in rows if row["rediscovered"] == "yes"}
    assert found & {"MA0142", "MA1962"}, rows  # the Oct4-Sox2 composite motif
