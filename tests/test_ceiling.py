"""The reference-model flag of the benchmark report (issue 17)."""

import pandas as pd
import pytest

from regsim.metrics.benchmark.ceiling import ceiling_section, model_gaps, without_flagged

MODELS = {
    ("realistic", "reference"): {"test_auroc": 0.862},
    ("realistic", "basset"): {"test_auroc": 0.8425},  # 0.0195 below: kept
    ("realistic", "beluga"): {"test_auroc": 0.841},  # 0.021 below: flagged
    ("simple", "reference"): {"test_auroc": 0.90},
    ("simple", "basset"): {"test_auroc": 0.95},  # above the reference
    ("other", "basset"): {"test_auroc": 0.5},  # no reference on that dataset: never flagged
}


def test_gaps_are_measured_against_the_best_reference_of_the_same_dataset():
    gaps = model_gaps(MODELS)
    assert set(gaps) == {("realistic", "basset"), ("realistic", "beluga"), ("simple", "basset"), ("other", "basset")}
    assert gaps[("realistic", "basset")]["gap"] == pytest.approx(0.0195)
    assert not gaps[("realistic", "basset")]["flagged"]
    assert gaps[("realistic", "beluga")]["gap"] == pytest.approx(0.021) and gaps[("realistic", "beluga")]["flagged"]
    assert gaps[("simple", "basset")]["gap"] == pytest.approx(-0.05) and not gaps[("simple", "basset")]["flagged"]
    assert gaps[("other", "basset")] == {"test_auroc": 0.5, "reference_arch": None, "reference_auroc": None,
                                         "gap": None, "flagged": False}
    assert model_gaps(MODELS, margin=0.01)[("realistic", "basset")]["flagged"]


def test_flagged_models_are_left_out_of_the_findings_only(tmp_path):
    results = pd.DataFrame({"dataset": ["realistic", "realistic", "simple"], "arch": ["basset", "beluga", "basset"],
                            "auprc_mean": [0.6, 0.7, 0.8]})
    kept = without_flagged(results, MODELS)
    assert list(zip(kept["dataset"], kept["arch"])) == [("realistic", "basset"), ("simple", "basset")]
    lines = ceiling_section(MODELS, tmp_path)
    assert "| realistic | beluga | 0.841 | reference | 0.862 | +0.021 | **yes** |" in lines
    assert "| simple | basset | 0.950 | reference | 0.900 | -0.050 | no |" in lines
    assert "Flagged: realistic / beluga." in lines
    assert not list(tmp_path.iterdir())  # no model folders given: no curves plotted
