"""Motif loading (MEME, JASPAR, PFM, HOMER, pyjaspar), pseudocounts, log-odds and MEME output."""

import gzip
import math

import numpy as np
import pytest

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.motifs import (
    DEFAULT_MOTIF_SPEC,
    Motif,
    load_motifs,
    motif_from_counts,
    parse_jaspar_spec,
    write_meme,
)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


MEME_TEXT = """MEME version 5.5.4

ALPHABET= ACGT

strands: + -

Background letter frequencies (from uniform background):
A 0.25000 C 0.25000 G 0.25000 T 0.25000

MOTIF M1 first_motif

letter-probability matrix: alength= 4 w= 3 nsites= 12.7 E= 1.2e-5
  0.100000	  0.200000	  0.300000	  0.400000
  1.000000	  0.000000	  0.000000	  0.000000
  0.333	  0.333	  0.333	  0.000

log-odds matrix: alength= 4 w= 3 E= 0
 -1 0 0 1
 2 -5 -5 -5
 0 0 0 -5

URL http://example.org/M1

MOTIF M2
letter-probability matrix: alength= 4 w= 2
0.25 0.25 0.25 0.25
0 0 1 0
"""


def test_meme_loader_exact_matrices(tmp_path):
    m1, m2 = load_motifs(_write(tmp_path, "two.meme", MEME_TEXT))
    assert (m1.id, m1.name, m1.nsites) == ("M1", "first_motif", 12.7)
    expected = np.array([[0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0]]).T
    # Columns within 1e-5 of 1 are kept as written; 0.999 is renormalised (MEME's normalize_motif).
    np.testing.assert_array_equal(m1.probabilities[:, :2], expected[:, :2])
    np.testing.assert_allclose(m1.probabilities[:, 2], expected[:, 2], rtol=0, atol=1e-15)
    assert (m2.id, m2.name, m2.nsites) == ("M2", "M2", 20.0)
    np.testing.assert_array_equal(m2.probabilities, [[0.25, 0], [0.25, 0], [0.25, 1], [0.25, 0]])
    assert m1.source.endswith("two.meme") and m1.width == 3 and m2.consensus == "AG"


JASPAR_TEXT = """>MA0001.1\tAGL3
T  [ 2 19 11 50 ]
A  [ 0  3 79 40 ]
C  [94 75  4  3 ]
G  [ 1  0  3  4 ]

>MA0002.2 RUNX1
10 0 5
0 10 5
0 0 0
0 0 0
"""


def test_jaspar_loader_labels_in_any_order_and_old_bundle_format(tmp_path):
    a, b = load_motifs(_write(tmp_path, "bundle.jaspar", JASPAR_TEXT))
    counts = np.array([[0, 3, 79, 40], [94, 75, 4, 3], [1, 0, 3, 4], [2, 19, 11, 50]], dtype=float)
    assert (a.id, a.name) == ("MA0001.1", "AGL3")
    np.testing.assert_array_equal(a.probabilities, counts / counts.sum(axis=0))
    # nsites: the mean column sum, rounded (MEME's jaspar2meme): (97 + 97 + 97 + 97) / 4
    assert a.nsites == 97
    assert (b.id, b.name, b.nsites) == ("MA0002.2", "RUNX1", 10)
    np.testing.assert_array_equal(b.probabilities, [[1, 0, 0.5], [0, 1, 0.5], [0, 0, 0], [0, 0, 0]])


def test_pfm_loader_with_and_without_header_and_transposed(tmp_path):
    rows = "4 19 0 0 1\n16 0 20 0 1\n0 1 0 20 1\n0 0 0 0 17\n"
    plain = load_motifs(_write(tmp_path, "MA9999.1.pfm", rows))[0]
    assert (plain.id, plain.name) == ("MA9999", "MA9999")
    counts = np.array([[4, 19, 0, 0, 1], [16, 0, 20, 0, 1], [0, 1, 0, 20, 1], [0, 0, 0, 0, 17]], float)
    np.testing.assert_array_equal(plain.probabilities, counts / 20)
    assert plain.nsites == 20
    headed = load_motifs(_write(tmp_path, "x.pfm", ">MA0042.1 FOXI1\n" + rows))[0]
    assert (headed.id, headed.name) == ("MA0042.1", "FOXI1")
    np.testing.assert_array_equal(headed.probabilities, plain.probabilities)
    transposed = "\n".join(" ".join(str(int(v)) for v in col) for col in counts.T) + "\n"
    flipped = load_motifs(_write(tmp_path, "t.pfm", transposed))[0]
    np.testing.assert_array_equal(flipped.probabilities, plain.probabilities)


HOMER_TEXT = """>ASTTCCTCTT\tETS(ETS)/Homer\t6.049537\t-4.1e+01\t0\tT:17.0(44.74%)
0.726\t0.001\t0.218\t0.055
0.198\t0.446\t0.075\t0.281
0.001\t0.001\t0.001\t0.997
>CACGTG\tUSF1(bHLH)/C2C12-Usf1-ChIP-Seq/Homer\t6.5
0.25\t0.25\t0.25\t0.25
0.0010\t0.9970\t0.0010\t0.0010
"""


def test_homer_loader(tmp_path):
    a, b = load_motifs(_write(tmp_path, "known.motif", HOMER_TEXT))
    assert (a.id, a.name, a.nsites) == ("ETS(ETS)/Homer", "ETS(ETS)", 20.0)
    np.testing.assert_array_equal(a.probabilities, np.array([[0.726, 0.001, 0.218, 0.055], [0.198, 0.446, 0.075, 0.281], [0.001, 0.001, 0.001, 0.997]]).T)
    assert (b.id, b.name) == ("USF1(bHLH)/C2C12-Usf1-ChIP-Seq/Homer", "USF1(bHLH)")
    assert b.consensus == "AC"


def test_gzipped_file_and_format_sniffing(tmp_path):
    path = tmp_path / "motifs.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(MEME_TEXT)
    assert [m.id for m in load_motifs(path)] == ["M1", "M2"]
    path = _write(tmp_path, "matrices.dat", JASPAR_TEXT)
    assert [m.id for m in load_motifs(path)] == ["MA0001.1", "MA0002.2"]


@pytest.mark.parametrize(
    "name, text, where, what",
    [
        ("bad.jaspar", ">MA1 X\nA [1 2]\nC [1 x]\nG [0 0]\nT [0 0]\n", ":3:", "expected a number"),
        ("short.jaspar", ">MA1 X\nA [1 2]\nC [1 2]\nG [0 0]\n", ":4:", "expected 4 rows"),
        ("ragged.jaspar", ">MA1 X\nA [1 2]\nC [1 2 3]\nG [0 0]\nT [0 0]\n", ":3:", "row has 3 counts"),
        ("zero.jaspar", ">MA1 X\nA [1 0]\nC [1 0]\nG [0 0]\nT [0 0]\n", ":1:", "column 2 has no counts"),
        ("rows.meme", "MEME version 4\n\nMOTIF A\nletter-probability matrix: alength= 4 w= 3\n0.25 0.25 0.25 0.25\n0.5 0.5 0 0\n", ":6:", "expected 3 rows"),
        ("cols.meme", "MEME version 4\n\nMOTIF A\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 0\n", ":5:", "expected 4 probabilities"),
        ("sum.meme", "MEME version 4\n\nMOTIF A\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 0.5 0.5\n", ":5:", "sum to 2"),
        ("protein.meme", "MEME version 4\n\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", ":3:", "only the DNA alphabet"),
        ("nomatrix.meme", "MEME version 4\n\nMOTIF A\n\nMOTIF B\n", ":3:", "no letter-probability matrix"),
        ("bad.motif", ">ACG\tname\t5.0\n0.1 0.2 0.7\n", ":2:", "expected 4 probabilities"),
        ("empty.meme", "MEME version 4\n", ":1:", "no motif found"),
    ],
)
def test_unparsable_files_name_file_and_line(tmp_path, name, text, where, what):
    path = _write(tmp_path, name, text)
    with pytest.raises(UserError) as err:
        load_motifs(path)
    message = str(err.value)
    assert str(path) + where in message and what in message


def test_missing_file_and_bad_specs(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_motifs(tmp_path / "nope.meme")
    with pytest.raises(UserError, match="JASPAR id MA9999 not found"):
        load_motifs("jaspar:ids=MA9999")
    with pytest.raises(UserError, match="JASPAR1999 is not available"):
        load_motifs("jaspar:JASPAR1999")
    with pytest.raises(UserError, match="unknown key 'colour'"):
        load_motifs("jaspar:colour=red")


def test_pseudocount_by_hand():
    m = Motif("M", "m", np.array([[1.0, 0.5], [0.0, 0.5], [0.0, 0.0], [0.0, 0.0]]), nsites=10.9)
    # MEME truncates nsites to 10: p' = (p * 10 + 0.1 * bg) / 10.1
    np.testing.assert_allclose(m.with_pseudocount()[:, 0], [10.025 / 10.1, 0.025 / 10.1, 0.025 / 10.1, 0.025 / 10.1], rtol=1e-15)
    bg = [0.3, 0.2, 0.2, 0.3]
    np.testing.assert_allclose(m.with_pseudocount(bg, 1.0)[:, 1], [(5 + 0.3) / 11, (5 + 0.2) / 11, 0.2 / 11, 0.3 / 11], rtol=1e-15)
    missing = Motif("M", "m", m.probabilities, nsites=0)  # MEME's default site count: 20
    np.testing.assert_allclose(missing.with_pseudocount()[0, 0], (20 + 0.025) / 20.1, rtol=1e-15)
    lo = m.log_odds(bg)
    expected = np.log2(m.with_pseudocount(bg) / np.array(bg)[:, None])
    np.testing.assert_allclose(lo, expected, rtol=1e-8)
    assert lo[0, 0] == math.log((10 + 0.03) / 10.1 / 0.3) * 1.44269504  # MEME's my_log2, bit for bit
    with pytest.raises(UserError, match="zero probabilities"):
        m.log_odds(pseudocount=0)


def test_reverse_complement_and_consensus():
    p = np.array([[0.7, 0.1, 0.0], [0.1, 0.6, 0.2], [0.1, 0.2, 0.0], [0.1, 0.1, 0.8]])
    m = Motif("M", "m", p, nsites=5, source="s")
    rc = m.reverse_complement()
    np.testing.assert_array_equal(rc.probabilities, p[::-1, ::-1])
    assert (m.consensus, rc.consensus) == ("ACT", "AGT")
    assert rc.reverse_complement() == m and (rc.id, rc.nsites, rc.source) == ("M", 5, "s")
    with pytest.raises(ValueError):
        m.probabilities[0, 0] = 1  # read-only


def test_motif_from_counts_probability_input_keeps_default_nsites():
    m = motif_from_counts("X", "x", [[0.5, 0.1], [0.5, 0.2], [0, 0.3], [0, 0.4]])
    assert m.nsites == 20.0
    with pytest.raises(UserError, match="shape"):
        Motif("X", "x", np.ones((3, 2)) / 3)


def test_jaspar_spec_grammar():
    q = parse_jaspar_spec(DEFAULT_MOTIF_SPEC)
    assert (q.release, q.collection, q.tax_group, q.ids, q.all_versions) == ("JASPAR2024", "CORE", ("vertebrates",), None, False)
    assert parse_jaspar_spec("jaspar") == q
    q = parse_jaspar_spec("jaspar:JASPAR2022:CORE:insects,plants:all_versions=true")
    assert (q.release, q.tax_group, q.all_versions) == ("JASPAR2022", ("insects", "plants"), True)
    q = parse_jaspar_spec("jaspar:CORE:all")
    assert (q.release, q.collection, q.tax_group) == ("JASPAR2024", "CORE", None)
    q = parse_jaspar_spec("jaspar:JASPAR2024:ids=MA0035,MA0091.1")
    assert q.ids == ("MA0035", "MA0091.1")
    assert parse_jaspar_spec("jaspar:names=GATA1,TAL1::TCF3").names == ("GATA1", "TAL1::TCF3")
    assert parse_jaspar_spec("jaspar", release="JASPAR2020").release == "JASPAR2020"
    assert parse_jaspar_spec("jaspar:JASPAR2022", release="JASPAR2020").release == "JASPAR2022"


def test_jaspar_default_set_is_latest_core_vertebrates():
    motifs = load_motifs()
    assert len(motifs) == 879  # JASPAR2024 CORE vertebrates, latest versions
    bases = [m.id.split(".")[0] for m in motifs]
    assert len(set(bases)) == len(bases)
    assert {m.source for m in motifs} == {"JASPAR2024"}
    by_id = {m.id: m for m in motifs}
    oct_sox = by_id["MA0142.1"]
    assert oct_sox.name == "Pou5f1::Sox2" and oct_sox.width == 15
    assert np.allclose(oct_sox.probabilities.sum(axis=0), 1)


def test_jaspar_ids_take_latest_version_and_keep_order():
    gata, tal = load_motifs("jaspar:JASPAR2024:ids=MA0035,MA0091")
    assert (gata.id, gata.name, tal.id, tal.name) == ("MA0035.5", "GATA1", "MA0091.2", "TAL1::TCF3")
    from pyjaspar import jaspardb

    record = jaspardb(release="JASPAR2024").fetch_motif_by_id("MA0091.2")
    counts = np.array([record.counts[b] for b in "ACGT"])
    np.testing.assert_array_equal(tal.probabilities, counts / counts.sum(axis=0))
    assert tal.nsites == int(counts.sum(axis=0).mean() + 0.5)
    versions = load_motifs("jaspar:ids=MA0035", all_versions=True)
    assert [m.id for m in versions] == ["MA0035.1", "MA0035.2", "MA0035.3", "MA0035.4", "MA0035.5"]


def test_write_meme_round_trip(tmp_path):
    motifs = load_motifs("jaspar:ids=MA0142,MA0035,MA0103.4")
    motifs.append(Motif("odd", "two words", np.array([[0.1, 1 / 3], [0.2, 1 / 3], [0.3, 1 / 3], [0.4, 0.0]]), nsites=7.5, source="x"))
    path = write_meme(motifs, tmp_path / "out.meme", background=[0.3, 0.2, 0.2, 0.3])
    back = load_motifs(path)
    for a, b in zip(motifs, back, strict=True):
        assert (b.id, b.nsites) == (a.id, a.nsites)
        assert b.name == a.name.replace(" ", "_")
        np.testing.assert_array_equal(b.probabilities, a.probabilities)
    assert "A 0.3 C 0.2 G 0.2 T 0.3" in path.read_text()
    gz = write_meme(motifs[:1], tmp_path / "out.meme.gz")
    np.testing.assert_array_equal(load_motifs(gz)[0].probabilities, motifs[0].probabilities)
