"""The centre-weighted enrichment filter, checked against hand-computed values."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from regsim.dataset_builder.enrichment import centre_weights, default_min_hits, motif_enrichment, write_enrichment_table

MOTIFS = [SimpleNamespace(id="M1", name="one"), SimpleNamespace(id="M2", name="two"), SimpleNamespace(id="M3", name="three")]


def hits(rows):
    return pd.DataFrame(rows, columns=["sequence_index", "motif_index", "start", "end"])


def test_centre_weights_are_triangular():
    # width 100: centre 50 -> 1, centre 25 -> 0.5, centre 0 or 100 -> 0
    np.testing.assert_allclose(centre_weights([45, 20, -5, 95], [55, 30, 5, 105], 100), [1.0, 0.5, 0.0, 0.0])


def test_enrichment_by_hand():
    positive = hits([(0, 0, 45, 55), (1, 0, 20, 30), (1, 1, 45, 55)])  # M1: weights 1 + 0.5; M2: 1
    background = hits([(0, 1, 45, 55), (1, 1, 45, 55), (2, 1, 70, 80)])  # M2: 1 + 1 + 0.5
    table = motif_enrichment(MOTIFS, positive, background, n_positives=2, n_background=4, width=100,
                             min_hits=2, min_enrichment=1.25)
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
                             width=100, min_hits=1)
    write_enrichment_table(table, tmp_path / "retained_motifs.tsv")
    lines = (tmp_path / "retained_motifs.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["motif_id", "motif_name", "positive_hits", "background_hits",
                                    "positive_density", "background_density", "enrichment", "retained"]
    assert lines[1].split("\t") == ["M1", "one", "1", "0", "2", "1", "2", "yes"]


def test_default_min_hits_scales_to_the_paper():
    assert default_min_hits(50_000) == 1000
    assert default_min_hits(3_897) == 78
    assert default_min_hits(100) == 10
