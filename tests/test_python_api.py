"""The README's "Python API" section runs as written, and its results agree with the command's pieces."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import regsim

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.slow


def api_code() -> str:
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the README has no Python API example"
    return "\n".join(blocks)


def test_readme_python_api_section_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(api_code(), "README.md (Python API)", "exec"), namespace)

    # the dataset and model folders are what the commands write
    assert (tmp_path / "data/oct4/build_manifest.json").is_file()
    assert (tmp_path / "models/oct4-tiny/model.safetensors").is_file()
    results, test, attributions = namespace["results"], namespace["test"], namespace["attributions"]
    assert set(test["label"]) == {1} and attributions.shape == (len(test), 4, len(test["sequence"][0]))
    assert 0.55 < results["test_auroc"] <= 1.0  # the tiny model after 5 epochs: 0.62 when measured
    # DeepSHAP sums to the output difference (1e-4 relative, as regsim attribute checks)
    assert namespace["result"].completeness.relative_error.max() < 1e-4
    # the numpy core and the evaluate module give the same scores; auPRC checked by brute force
    scores, same = namespace["scores"], namespace["same"]
    for key in ("auroc_mean", "auprc_mean", "auroc_pooled", "n_scored"):
        assert scores[key] == pytest.approx(same[key], rel=1e-9)
    from sklearn.metrics import average_precision_score

    per_sequence = [
        average_precision_score(mask, np.abs(a).sum(axis=0))
        for a, mask in zip(attributions, namespace["masks"])
        if 0 < mask.sum() < mask.size
    ]
    assert scores["auprc_mean"] == pytest.approx(np.mean(per_sequence), rel=1e-9)
    assert (tmp_path / "report-quick" / "report.md").is_file()
    assert Path(namespace["benchmark"]["report"]).resolve() == (tmp_path / "report-quick" / "report.md").resolve()


def test_api_names_resolve_to_the_layers():
    from regsim.dataset_builder.build import build_dataset
    from regsim.dataset_builder.core import __version__
    from regsim.metrics.benchmark.pipeline import run_benchmark
    from regsim.models import RegCNNForSequenceClassification

    assert regsim.__version__ == __version__
    assert regsim.build_dataset is build_dataset and regsim.run_benchmark is run_benchmark
    assert regsim.RegCNNForSequenceClassification is RegCNNForSequenceClassification
    assert sorted(regsim.__all__) == sorted(["__version__", *regsim._API])
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        regsim.nope
