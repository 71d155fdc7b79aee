"""The centre-weighted enrichment filter, checked against hand-computed values."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from regsim.dataset_builder.enrichment import (
    centre_weights,
    compare_weights,
    default_min_hits,
    motif_enrichment,
    write_enrichment_table,
)

MOTIFS = [SimpleNamespace(id="M1", name="one"), SimpleNamespace(id="M2", name="two"), SimpleNamespace(id="M3", name="three")]


def hits(rows):
    return pd.DataFrame(rows, columns=["sequence_index", "motif_index", "start", "end"])


def test_centre_weights_are_triangular():
    # width 100: centre 50 -> 1, centre 25 -> 0.5, centre 0 or 100 -> 0
    np.testing.assert_allclose(centre_weights([45, 20, -5, 95], [55, 30, 5, 105], 100, "linear"), [1.0, 0.5, 0.0, 0.0])


def test_authors_weight_is_the_square_on_the_start():
    # width 100, W/2 = 50: (50 - |50 - start|)^2 / 2500 -> start 50: 1; 45: 45^2/2500; 20: 400/2500; 95: 25/2500
    np.testing.assert_allclose(centre_weights([50, 45, 20, 95, 0], [60, 55, 30, 105, 10], 100, "authors"),
                               [1.0, 0.81, 0.16, 0.01, 0.0])
    # the default
    np.testing.assert_allclose(centre_weights([20], [30], 100), [0.16])


def test_paper_weight_is_the_inverse_square_distance_from_the_centre():
    # centres 50, 50.5, 52, 60, 25 -> distance 0 (capped to 1), 0.5 (capped), 2, 10, 25
    np.testing.assert_allclose(centre_weights([45, 45, 47, 55, 20], [55, 56, 57, 65, 30], 100, "paper"),
                               [1.0, 1.0, 0.25, 0.01, 0.0016])
    with pytest.raises(ValueError, match="unknown enrichment weight"):
        centre_weights([0], [1], 100, "cubic")


def test_the_formula_decides_which_motif_is_retained():
    # M1: 2 hits at the centre; M2: 3 hits 20 bp off the centre (starts 30 and 70 -> authors 0.36, paper
    # 1/400 at centre 34 / 74 ...). Background: none. With one slot, the formula picks the motif.
    positive = hits([(0, 0, 45, 55), (1, 0, 45, 55), (0, 1, 24, 34), (1, 1, 24, 34), (2, 1, 24, 34)])
    kwargs = dict(n_positives=3, n_background=3, width=100, min_hits=1, max_motifs=1, min_enrichment=1.0)
    picked = {w: motif_enrichment(MOTIFS, positive, hits([]), weight=w, **kwargs).query("retained")["motif_id"].tolist()
              for w in ("authors", "paper", "linear")}
    # authors: M1 2*(45/50)^2 = 1.62 + 1; M2 3*(24/50)^2 = 0.6912 + 1 -> M1
    # linear: M1 2*1 = 2; M2 centre 29 -> 3*(1 - 21/50) = 1.74 -> M1
    # paper: M1 centre 50 -> 2*1; M2 centre 29 -> 3/441 -> M1
    assert picked == {"authors": ["M1"], "paper": ["M1"], "linear": ["M1"]}
    # move M1 off-centre (starts 10 -> authors (10/50)^2 = 0.04 each; linear centre 15 -> 0.3 each)
    positive.loc[positive["motif_index"] == 0, ["start", "end"]] = [10, 20]
    picked = {w: motif_enrichment(MOTIFS, positive, hits([]), weight=w, **kwargs).query("retained")["motif_id"].tolist()
              for w in ("authors", "paper", "linear")}
    assert picked == {"authors": ["M2"], "paper": ["M2"], "linear": ["M2"]}
    # a hit 1 bp from the centre dominates under the paper's formula only: M3 one hit centred at 51
    positive = hits([(0, 0, 10, 20), (1, 0, 10, 20), (2, 0, 10, 20), (0, 2, 46, 56)])
    kwargs["max_motifs"] = 1
    by = {w: motif_enrichment(MOTIFS, positive, hits([]), weight=w, **kwargs).set_index("motif_id")["enrichment"]
          for w in ("authors", "paper", "linear")}
    # authors: M1 (3*0.04 + 1)/3 over 1/3 = 1.12; M3 (46/50)^2 = 0.8464 -> 1.8464
    assert by["authors"]["M1"] == pytest.approx(1.12) and by["authors"]["M3"] == pytest.approx(1.8464)
    # paper: M1 centre 15 -> 3/35^2 + 1; M3 centre 51 -> 1 + 1
    assert by["paper"]["M1"] == pytest.approx(1 + 3 / 35**2) and by["paper"]["M3"] == pytest.approx(2.0)
    comparison = compare_weights(MOTIFS, positive, hits([]), weight="authors", **kwargs)
    assert [c["weight"] for c in comparison] == ["paper", "linear"]
    assert all(c["added"] == [] and c["removed"] == [] for c in comparison)  # M3 wins under all three


def test_enrichment_by_hand():
    positive = hits([(0, 0, 45, 55), (1, 0, 20, 30), (1, 1, 45, 55)])  # M1: weights 1 + 0.5; M2: 1
    background = hits([(0, 1, 45, 55), (1, 1, 45, 55), (2, 1, 70, 80)])  # M2: 1 + 1 + 0.5
    table = motif_enrichment(MOTIFS, positive, background, n_positives=2, n_background=4, width=100,
                             min_hits=2, min_enrichment=1.25, weight="linear")
    by_id = table.set_index("motif_id")
    # M1: pos density (1.5 + 1) / 2 = 1.25, bg density (0 + 1) / 4 = 0.25 -> 5.0
    assert by_id.loc["M1", "positive_density"] == pytest.approx(1.25)
    assert by_id.loc["M1", "background_density"] == pytest.approx(0.25)
    assert by_id.loc["M1", "enrichment"] == pytest.approx(5.0)
    # M2: pos (1 + 1) / 2 = 1.0, bg (2.5 + 1) / 4 = 0.875 -> 1.142857
    assert by_id.loc["M2", "enrichment"] == pytest.approx(1.0 / 0.875)
    # M3: no hits: (0 + 1)/2 over (0 + 1)/4 = 2.0
    assert by_id.loc["M3", "enrichment"] == pytest.approx(2.0)
    assert list(table["motif_id"]) == ["M1", "M3", "M2"]  # sorted by enrichment
    assert by_id.loc["M1", "retained"] and not by_id.loc["M2", "retained"]  # M2 enrichment too low
    assert not by_id.loc["M3", "retained"]  # too few hits
    assert by_id.loc["M1", "positive_hits"] == 2 and by_id.loc["M2", "background_hits"] == 3


def test_max_motifs_keeps_the_most_enriched():
    positive = hits([(i, k, 45, 55) for k in range(3) for i in range(4 - k)])  # 4, 3, 2 hits
    table = motif_enrichment(MOTIFS, positive, hits([]), n_positives=4, n_background=4, width=100,
                             min_hits=1, max_motifs=2)
    assert table["retained"].tolist() == [True, True, False]
    assert table["motif_id"].tolist() == ["M1", "M2", "M3"]
    unlimited = motif_enrichment(MOTIFS, positive, hits([]), n_positives=4, n_background=4, width=100,
                                 min_hits=1, max_motifs=None)
    assert unlimited["retained"].all()


def test_enrichment_table_file(tmp_path):
    table = motif_enrichment(MOTIFS, hits([(0, 0, 45, 55)]), hits([]), n_positives=1, n_background=1,
                             width=100, min_hits=1, weight="linear")
    write_enrichment_table(table, tmp_path / "retained_motifs.tsv")
    lines = (tmp_path / "retained_motifs.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["motif_id", "motif_name", "positive_hits", "background_hits",
                                    "positive_density", "background_density", "enrichment", "retained"]
    assert lines[1].split("\t") == ["M1", "one", "1", "0", "2", "1", "2", "yes"]


def test_default_min_hits_scales_to_the_paper():
    assert default_min_hits(50_000) == 1000
    assert default_min_hits(3_897) == 78
    assert default_min_hits(100) == 10
