"""--collapse-redundant: TOMTOM q-values, clustering, and the Oct4-Sox2 composite kept once."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from regsim.dataset_builder.build import BuildSettings, build_dataset
from regsim.dataset_builder.motifs import load_motifs
from regsim.dataset_builder.redundancy import benjamini_hochberg, best_matches, collapse_redundant

# Two Oct4-Sox2 composites, Pou5f1 and Sox2 alone, two other SOX, GATA1, CTCF and ~30 unrelated motifs
# as the database, so that TOMTOM's q-values have a realistic family.
MOTIF_SPEC = ("jaspar:JASPAR2024:ids=MA0142,MA1962,MA1115,MA0143,MA0077,MA0868,MA0035,MA0139,MA0018,MA0019,"
              "MA0025,MA0027,MA0030,MA0031,MA0040,MA0041,MA0043,MA0050,MA0051,MA0052,MA0056,MA0059,MA0063,"
              "MA0066,MA0067,MA0068,MA0069,MA0070,MA0071,MA0072,MA0074,MA0075,MA0076,MA0079")


@pytest.fixture(scope="module")
def motifs():
    return load_motifs(MOTIF_SPEC)


def test_benjamini_hochberg_matches_scipy():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=(5, 40)) ** 3
    expected = np.stack([false_discovery_control(row) for row in p])
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-12)
    # by hand: p = (0.01, 0.04, 0.03) -> sorted 0.01, 0.03, 0.04 -> 0.03, 0.045, 0.04 -> monotone 0.03, 0.04, 0.04
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.01, 0.04, 0.03])), [0.03, 0.04, 0.04])


def _table(motifs, enrichments):
    table = pd.DataFrame({
        "motif_index": np.arange(len(motifs)), "motif_id": [m.id for m in motifs],
        "motif_name": [m.name for m in motifs], "enrichment": enrichments, "retained": True,
    })
    return table.sort_values("enrichment", ascending=False, kind="mergesort").reset_index(drop=True)


def test_no_two_retained_motifs_match_and_oct4_sox2_is_kept_once(motifs):
    from memelite import tomtom

    ids = [m.id for m in motifs]
    enrichments = np.linspace(5, 1.5, len(motifs))  # database order = enrichment order
    table = collapse_redundant(motifs, _table(motifs, enrichments))
    retained = table[table["retained"]]
    kept = [ids.index(i) for i in retained["motif_id"]]
    # Independent TOMTOM (memelite) q-values, each query against the whole database, BH per query.
    p = tomtom([np.asarray(m.probabilities) for m in motifs], [np.asarray(m.probabilities) for m in motifs],
               n_jobs=1)[0]
    q = np.stack([false_discovery_control(row) for row in np.asarray(p, dtype=np.float64)])
    among = q[np.ix_(kept, kept)]
    off_diagonal = ~np.eye(len(kept), dtype=bool)
    assert (among[off_diagonal] >= 0.05).all()
    composite = retained["motif_id"].str.startswith(("MA0142", "MA1962"))
    assert composite.sum() == 1
    # The more enriched composite (MA0142 comes first in the database) represents the other one.
    other = table.set_index("motif_id").loc[[i for i in ids if i.startswith("MA1962")][0]]
    assert not other["retained"] and other["representative"].startswith("MA0142")
    assert other["representative_q"] < 0.05
    # Every member points at a retained representative it matches; clusters partition the passing motifs.
    for row in table[~table["retained"]].itertuples():
        assert row.representative in set(retained["motif_id"])
        assert min(q[ids.index(row.motif_id), ids.index(row.representative)],
                   q[ids.index(row.representative), ids.index(row.motif_id)]) < 0.05
    assert len(retained) < len(motifs)


def test_collapse_cap_and_failing_motifs(motifs):
    table = _table(motifs, np.linspace(5, 1.5, len(motifs)))
    table.loc[table["motif_id"].str.startswith("MA0139"), "retained"] = False  # CTCF fails the filter
    collapsed = collapse_redundant(motifs, table, max_motifs=3)
    assert collapsed["retained"].sum() == 3
    ctcf = collapsed[collapsed["motif_id"].str.startswith("MA0139")].iloc[0]
    assert ctcf["representative"] == "" and not ctcf["retained"]
    uncapped = collapse_redundant(motifs, table)
    first3 = uncapped[uncapped["retained"]]["motif_id"].head(3).tolist()
    assert collapsed[collapsed["retained"]]["motif_id"].tolist() == first3


def test_best_matches_names_a_jaspar_motif_by_itself(motifs):
    database = load_motifs(MOTIF_SPEC)
    matches = best_matches(motifs[:3], database)
    assert matches["best_match_id"].tolist() == [m.id for m in motifs[:3]]
    assert (matches["best_match_q"] < 0.05).all()


@pytest.mark.slow
def test_embedded_collapse_keeps_the_composite_once(tmp_path):
    out = tmp_path / "collapsed"
    build_dataset(out, BuildSettings(collapse_redundant=True, max_motifs=None), verbose=False)
    table = pd.read_csv(out / "retained_motifs.tsv", sep="\t")
    retained = table[table["retained"] == "yes"]
    composite = retained["motif_id"].str.startswith(("MA0142", "MA1962"))
    assert composite.sum() == 1 and composite.iloc[0]  # kept once, and the most enriched motif
    members = table[(table["retained"] == "no") & table["representative"].notna()]
    assert set(members["representative"]) <= set(retained["motif_id"])
    assert "contrast, positive over negative coverage" in (out / "README.md").read_text()


def test_truth_coverage_from_per_row_masked_counts():
    from regsim.dataset_builder.truth_summary import truth_coverage

    # width 10: positives mask 3 + 5 of 20 bases (0.4), negatives 1 + 0 + 1 of 30 bases (1/15); contrast 6
    coverage = truth_coverage(np.array([1, 0, 1, 0, 0]), np.array([3, 1, 5, 0, 1]), 10)
    assert coverage == {"positive": 0.4, "negative": round(1 / 15, 6), "contrast": 6.0}
    assert truth_coverage(np.array([1, 0]), np.array([2, 0]), 4)["contrast"] is None
