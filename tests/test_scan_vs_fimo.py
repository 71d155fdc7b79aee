"""Cross-check of regsim's scan against MEME's own FIMO code (through pymemesuite).

pymemesuite wraps MEME's C code (build_motif_pssm, get_pv_lookup, FIMO's scoring), so these tests
compare regsim with the reference implementation on the embedded real Oct4/MafK sequences.

One pymemesuite bug is accounted for: its scan loop is ``for offset in range(length - width)``,
so it never scores the last window of a sequence (MEME's fimo program does). Hits that start at
``L - w`` are therefore left out of the comparison, and test_pymemesuite_skips_the_last_window
shows that this is the whole difference.
"""


import numpy as np
import pytest

pymemesuite = pytest.importorskip("pymemesuite")
from pymemesuite import common as pc  # noqa: E402
from pymemesuite.fimo import FIMO  # noqa: E402

from regsim.dataset_builder.build import EMBEDDED, EMBEDDED_NEGATIVES, EMBEDDED_POSITIVES  # noqa: E402
from regsim.dataset_builder.inputs import read_fasta  # noqa: E402
from regsim.dataset_builder.motifs import load_motifs, write_meme  # noqa: E402
from regsim.dataset_builder.pvalues import scaled_pssm  # noqa: E402
from regsim.dataset_builder.scan import scan  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*cannot reach p <:UserWarning")


@pytest.fixture(scope="module")
def sequences():
    return [s for name in (EMBEDDED_POSITIVES, EMBEDDED_NEGATIVES) for s in read_fasta(EMBEDDED.joinpath(name)).sequences]


@pytest.fixture(scope="module")
def motifs():
    """Every 25th JASPAR2024 CORE vertebrate motif, plus Pou5f1::Sox2, GATA1, TAL1::TCF3 and ZEB1."""
    everything = load_motifs("jaspar:JASPAR2024:CORE:vertebrates")
    chosen = everything[::25] + load_motifs("jaspar:JASPAR2024:ids=MA0142.1,MA0035,MA0091,MA0103.4")
    return list({m.id: m for m in chosen}.values())


def _fimo_hits(motif_list, sequences, threshold, background=None, pseudocounted=None):
    """FIMO's hits as {(motif index, sequence index, 0-based start, strand): (score, p, matched)}."""
    alphabet = pc.Alphabet.dna()
    bg = pc.Background.from_uniform(alphabet) if background is None else background
    records = [pc.Sequence(s, name=str(i).encode()) for i, s in enumerate(sequences)]
    fimo = FIMO(both_strands=True, threshold=threshold, max_stored_scores=10**9)
    hits = {}
    for k, motif in enumerate(motif_list):
        if pseudocounted is None:
            frequencies = motif.with_pseudocount()  # MEME's formula, checked in test_motifs.py
            pm = pc.Motif(alphabet, frequencies=pc.Matrix(frequencies.T.tolist()), name=motif.id.encode(), accession=motif.id.encode())
        else:
            pm = pseudocounted[k]
        for e in fimo.score_motif(pm, records, bg).matched_elements:
            start = e.start - 1 if e.strand == "+" else e.stop - 1  # 1-based, stop < start on '-'
            hits[(k, int(e.source.accession), start, e.strand)] = (e.score, e.pvalue, e.sequence)
    return hits


def _regsim_hits(table, widths, length):
    return {
        (r.motif_index, r.sequence_index, r.start, r.strand): (r.score, r.p_value, r.matched)
        for r in table.itertuples(index=False)
        if r.start < length - widths[r.motif_index]  # pymemesuite skips the last window
    }


def test_integer_matrices_and_pvalue_tables_are_fimos(motifs):
    alphabet = pc.Alphabet.dna()
    bg = pc.Background.from_uniform(alphabet)
    for motif in motifs:
        pm = pc.Motif(alphabet, frequencies=pc.Matrix(motif.with_pseudocount().T.tolist()), name=b"m", accession=b"m")
        theirs = pm.build_pssm(bg)
        mine = scaled_pssm(motif)
        np.testing.assert_array_equal(np.array([list(row) for row in theirs.matrix]).T, mine.scaled)
        assert (theirs.scale, theirs.offset) == (mine.scale, mine.offset)
        np.testing.assert_array_equal(np.array(list(theirs.pvalues)), mine.pvalues)


def test_hits_agree_with_fimo_on_real_sequences(motifs, sequences):
    length = len(sequences[0])
    widths = [m.width for m in motifs]
    fimo = _fimo_hits(motifs, sequences, 1e-4)
    ours = _regsim_hits(scan(motifs, sequences, threshold=1e-4), widths, length)
    assert len(fimo) > 3000
    a, b = set(fimo), set(ours)
    jaccard = len(a & b) / len(a | b)
    strong_fimo = {k for k, v in fimo.items() if v[1] < 1e-5}
    strong_ours = {k for k, v in ours.items() if v[1] < 1e-5}
    recall_of_fimo = len(strong_fimo & b) / len(strong_fimo)
    recall_of_ours = len(strong_ours & a) / len(strong_ours)
    assert jaccard >= 0.93 and recall_of_fimo >= 0.995 and recall_of_ours >= 0.995
    # What is actually achieved: the identical hit set, scores, p-values and matched bases.
    assert jaccard == 1.0
    for key in a:
        assert ours[key] == fimo[key], key
    # ZEB1 (MA0103.4, 6 wide) cannot reach p < 1e-4 (its best window has p = 4**-6), in either tool.
    zeb1 = next(i for i, m in enumerate(motifs) if m.id == "MA0103.4")
    assert not any(k[0] == zeb1 for k in a | b)


def test_fimo_default_background_through_a_meme_file(tmp_path, sequences):
    """FIMO's own defaults: NRDB background made strand-symmetric, pseudocount 0.1 read from a file."""
    chosen = load_motifs("jaspar:JASPAR2024:ids=MA0142.1,MA0035,MA0091,MA0139,MA1102")
    path = write_meme(chosen, tmp_path / "chosen.meme")
    with pc.MotifFile(str(path), pseudocount=0.1, symmetrical=True) as handle:
        read = list(handle)
        background = handle.background
    bg = np.array(list(background.frequencies))
    assert bg[0] == bg[3] and bg[1] == bg[2] and bg[0] != 0.25  # NRDB, symmetrised
    for theirs, mine in zip(read, chosen, strict=True):  # MEME's pseudocount, bit for bit
        np.testing.assert_array_equal(np.array([list(row) for row in theirs.frequencies]).T, mine.with_pseudocount(bg))
    subset = sequences[::4]
    fimo = _fimo_hits(chosen, subset, 1e-4, background=background, pseudocounted=read)
    ours = _regsim_hits(scan(chosen, subset, background=bg), [m.width for m in chosen], len(subset[0]))
    assert len(fimo) > 200 and set(fimo) == set(ours)
    for key in fimo:
        assert ours[key] == fimo[key], key


def test_pymemesuite_skips_the_last_window(sequences):
    (motif,) = load_motifs("jaspar:JASPAR2024:ids=MA0142.1")
    site = motif.consensus
    tail = "ACGT" * 10 + site
    head = site + "TGCA" * 10
    fimo = _fimo_hits([motif], [head, tail], 1e-4)
    ours = scan([motif], [head, tail])
    assert (0, 0, 0, "+") in fimo and (0, 1, 40, "+") not in fimo
    assert {(r.sequence_index, r.start) for r in ours.itertuples() if r.strand == "+"} >= {(0, 0), (1, 40)}
