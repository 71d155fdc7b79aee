"""The paper's published numbers: their transcription, their mapping onto regsim's runs, and the
comparison table the benchmark report prints."""

import numpy as np
import pandas as pd
import pytest

from regsim.metrics.benchmark.plan import FULL_RUNS
from regsim.metrics.benchmark.paper_numbers import BASELINES, COLUMNS, load_paper_numbers, paper_comparison, paper_model_accuracy

CELL_TYPES = ["A549", "GM12878", "H1", "HepG2", "K562"]


@pytest.fixture(scope="module")
def paper():
    return load_paper_numbers()


def _auprc(paper, comparison, arch, method):
    rows = paper[(paper["comparison"] == comparison) & (paper["arch"] == arch)
                 & (paper["authors_method"] == method) & (paper["metric"] == "auprc_mean")]
    return rows.set_index("cell_type")["value"]


def test_every_mapped_run_is_one_the_benchmark_runs(paper):
    planned = {(r.method, r.reference) for r in FULL_RUNS}
    mapped = {(m, r) for m, r in zip(paper["method"], paper["reference"]) if m != "-"}
    assert mapped <= planned, mapped - planned
    for _, method, reference in BASELINES.values():
        assert (method, reference) in planned


def test_each_comparison_has_every_cell_type_and_a_source(paper):
    auprcs = paper[paper["metric"] == "auprc_mean"]
    for (comparison, arch, method), part in auprcs.groupby(["comparison", "arch", "authors_method"]):
        expected = ["A549"] if comparison == "gradcam" else CELL_TYPES
        assert sorted(part["cell_type"]) == sorted(expected), (comparison, arch, method)
    assert paper["source"].str.startswith("kundajelab/interpret-benchmark@").all()
    assert paper["value"].between(0, 1).all()


def test_the_transcribed_numbers_carry_the_papers_findings(paper):
    """If a digit were mistyped badly enough to matter, the paper's own claims would stop holding."""
    for arch in ("beluga", "basset"):
        dnn = pd.DataFrame({m: _auprc(paper, "methods", arch, m)
                            for m in ("grad_times_input", "deeplift_rs_shuff20", "ig20_shuff20", "ism")})
        # DeepLIFT with 20 shuffled references is best and ISM second, in every cell type
        assert (dnn.idxmax(axis=1) == "deeplift_rs_shuff20").all()
        assert (dnn.rank(axis=1, ascending=False)["ism"] == 2).all()
    # IG trails grad x input sometimes: Basset-like in A549 and H1 only
    trails = _auprc(paper, "methods", "basset", "ig20_shuff20") < _auprc(paper, "methods", "basset", "grad_times_input")
    assert sorted(trails[trails].index) == ["A549", "H1"]
    # more shuffled references help, monotonically, and all beat the all-zeros reference
    refs = pd.DataFrame({n: _auprc(paper, "references", "beluga", f"deeplift_rs_shuff{n}")
                         for n in (10, 20, 30, 40, 50)})
    assert (refs.diff(axis=1).iloc[:, 1:] > 0).all().all()
    assert (refs[10] > _auprc(paper, "references", "beluga", "deeplift_rs_allzeros")).all()
    # GradCAM at the first layer of the 8 bp-kernel model: under half of grad x activation
    gradcam = _auprc(paper, "gradcam", "beluga", "gradcam")["A549"]
    assert gradcam < 0.5 * _auprc(paper, "gradcam", "beluga", "gradtimesact_direct")["A549"]


def test_a_known_value_and_the_model_accuracy(paper):
    assert _auprc(paper, "methods", "beluga", "deeplift_rs_shuff20")["A549"] == 0.7489618274381986
    assert paper_model_accuracy(paper)[("beluga", "A549")] == pytest.approx(
        {"test_auroc": 0.8121846875427408, "test_auprc": 0.4749908947489309,
         "test_positive_fraction": 23827 / (23827 + 178032)})


def _results(auprc=None):
    auprc = auprc or {}
    rows = [{"dataset": "realistic", "arch": "basset", "method": m, "reference": r, "auprc_mean": v, "auprc_sem": 0.01}
            for (m, r), v in auprc.items()]
    rows.append({"dataset": "simple", "arch": "basset", "method": "ism", "reference": "none", "auprc_mean": 0.99,
                 "auprc_sem": 0.01})
    return pd.DataFrame(rows)


def test_comparison_table_by_hand(paper):
    results = _results({("grad_x_input", "none"): 0.50, ("ism", "none"): 0.60, ("deepshap", "shuffled20"): 0.55})
    table = paper_comparison(results, paper)
    assert list(table.columns) == COLUMNS
    ism = table[(table["comparison"] == "methods") & (table["arch"] == "basset")
                & (table["authors_method"] == "ism")].iloc[0]
    values = [0.6530008324498568, 0.5947623409696965, 0.6518240595465016, 0.6566350458101494, 0.6480595916158642]
    gxi = [0.5757057580502144, 0.5178423433305168, 0.5786466807548363, 0.5940200693973815, 0.5912730921953971]
    assert ism["n_cell_types"] == 5
    assert ism["paper_auprc"] == pytest.approx(3.2042818703920686 / 5)
    assert (ism["paper_min"], ism["paper_max"]) == (0.5947623409696965, 0.6566350458101494)
    assert ism["paper_ratio"] == pytest.approx(np.mean(np.divide(values, gxi)))
    assert ism["paper_ratio"] == pytest.approx(1.1221, abs=1e-4)
    # ours: the realistic row, not the simple one; ratio to our grad x input
    assert ism["ours_auprc"] == 0.60 and ism["ours_ratio"] == pytest.approx(1.2)
    # ranks among the methods both sides ran: the paper puts DeepLIFT first, we put ISM first
    ranked = table[(table["comparison"] == "methods") & (table["arch"] == "basset") & table["ours_rank"].notna()]
    assert dict(zip(ranked["authors_method"], ranked["paper_rank"])) == {
        "grad_times_input": 3, "deeplift_rs_shuff20": 1, "ism": 2}
    assert dict(zip(ranked["authors_method"], ranked["ours_rank"])) == {
        "grad_times_input": 3, "deeplift_rs_shuff20": 2, "ism": 1}
    # what we did not run stays empty
    ig = table[(table["authors_method"] == "ig20_shuff20") & (table["arch"] == "basset")].iloc[0]
    assert np.isnan(ig["ours_auprc"]) and np.isnan(ig["ours_rank"])
    assert table[table["arch"] == "beluga"]["ours_auprc"].isna().all()


def test_references_take_their_baseline_from_the_methods_comparison(paper):
    table = paper_comparison(_results(), paper)
    zeros = table[(table["comparison"] == "references") & (table["authors_method"] == "deeplift_rs_allzeros")].iloc[0]
    expected = np.mean(_auprc(paper, "references", "beluga", "deeplift_rs_allzeros")
                       / _auprc(paper, "methods", "beluga", "grad_times_input"))
    assert zeros["paper_ratio"] == pytest.approx(expected)
    assert zeros["paper_ratio"] == pytest.approx(1.2178, abs=1e-4)
