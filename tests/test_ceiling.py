"""The reference-model flag of the benchmark report (issue 17)."""

import pandas as pd
import pytest

from regsim.metrics.benchmark.ceiling import ceiling_section, model_gaps, without_flagged

MODELS = {
    ("realistic", "reference", 0): {"test_auroc": 0.862},
    ("realistic", "basset", 0): {"test_auroc": 0.8425},  # 0.0195 below: kept
    ("realistic", "beluga", 0): {"test_auroc": 0.841},  # 0.021 below: flagged
    ("simple", "reference", 0): {"test_auroc": 0.90},
    ("simple", "basset", 0): {"test_auroc": 0.95},  # above the reference
    ("other", "basset", 0): {"test_auroc": 0.5},  # no reference on that dataset: never flagged
}


def test_gaps_are_measured_against_the_best_reference_of_the_same_dataset():
    gaps = model_gaps(MODELS)
    assert set(gaps) == {("realistic", "basset", 0), ("realistic", "beluga", 0), ("simple", "basset", 0), ("other", "basset", 0)}
    assert gaps[("realistic", "basset", 0)]["gap"] == pytest.approx(0.0195)
    assert not gaps[("realistic", "basset", 0)]["flagged"]
    assert gaps[("realistic", "beluga", 0)]["gap"] == pytest.approx(0.021) and gaps[("realistic", "beluga", 0)]["flagged"]
    assert gaps[("simple", "basset", 0)]["gap"] == pytest.approx(-0.05) and not gaps[("simple", "basset", 0)]["flagged"]
    assert gaps[("other", "basset", 0)] == {"test_auroc": 0.5, "reference_arch": None, "reference_auroc": None,
                                         "gap": None, "flagged": False}
    assert model_gaps(MODELS, margin=0.01)[("realistic", "basset", 0)]["flagged"]


def test_flagged_models_are_left_out_of_the_findings_only(tmp_path):
    results = pd.DataFrame({"dataset": ["realistic", "realistic", "simple", "realistic"],
                            "arch": ["basset", "beluga", "basset", "beluga"], "seed": [0, 0, 0, 1],
                            "auprc_mean": [0.6, 0.7, 0.8, 0.9]})
    kept = without_flagged(results, MODELS)
    # seed 1 of the Beluga-like model has no eval results here, so it is not flagged: only seed 0 goes
    assert list(zip(kept["dataset"], kept["arch"], kept["seed"])) == [
        ("realistic", "basset", 0), ("simple", "basset", 0), ("realistic", "beluga", 1)]
    lines = ceiling_section(MODELS, tmp_path)
    assert "| realistic | beluga | 0 | 0.841 | reference | 0.862 | +0.021 | **yes** |" in lines
    assert "| simple | basset | 0 | 0.950 | reference | 0.900 | -0.050 | no |" in lines
    assert "Flagged: realistic / beluga (seed 0)." in lines
    assert not list(tmp_path.iterdir())  # no model folders given: no curves plotted
