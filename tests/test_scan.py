"""FIMO-equivalent p-values and scanning, checked against brute force."""

import itertools

import numpy as np
import pandas as pd
import pytest

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.motifs import Motif, check_background, load_motifs
from regsim.dataset_builder.core.sequences import decode_integers, encode_integers
from regsim.dataset_builder.pvalues import PSSM_RANGE, scale_log_odds, scaled_pssm, score_pvalues
from regsim.dataset_builder.scan import HIT_COLUMNS, scan

_COMPLEMENT = str.maketrans("ACGT", "TGCA")

# Short random motifs cannot reach the thresholds used here; scan() says so with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:.*cannot reach p <:UserWarning")


def _random_motif(rng, width, name, sharp=0.6):
    p = rng.dirichlet(np.full(4, 0.5), size=width).T
    strong = rng.random(width) < sharp
    p[:, strong] = 0.02
    p[rng.integers(0, 4, strong.sum()), np.flatnonzero(strong)] = 0.94
    return Motif(name, name.lower(), p, nsites=int(rng.integers(5, 60)), source="test")


def test_scale_log_odds_by_hand():
    lo = np.array([[-2.5, 1.5, 0.0], [0.2, -1.0, 0.7], [1.0, 0.0, -0.3], [-0.1, 0.4, 0.9]])
    scaled, scale, offset = scale_log_odds(lo)
    # offset = floor(-2.5) = -3; scale = floor(1000 / (1.5 - (-3))) = 222
    assert (scale, offset) == (222.0, -3.0)
    np.testing.assert_array_equal(scaled, np.floor((lo + 3) * 222 + 0.5).astype(int))
    assert scaled.max() <= PSSM_RANGE and scaled.min() >= 0


@pytest.mark.parametrize("width, background", [(5, None), (7, [0.3, 0.2, 0.2, 0.3]), (8, [0.1, 0.4, 0.3, 0.2])])
def test_pvalues_match_enumeration_of_every_sequence(width, background):
    rng = np.random.default_rng(width)
    motif = _random_motif(rng, width, "E")
    pssm = scaled_pssm(motif, background)
    bg = check_background(background)
    words = np.array(list(itertools.product(range(4), repeat=width)))  # all 4**w sequences
    scores = pssm.scaled[words, np.arange(width)].sum(axis=1)
    probs = bg[words].prod(axis=1)
    for s in np.unique(np.concatenate([scores, [0, pssm.max_score, pssm.max_score + 1]])):
        exact = probs[scores >= s].sum()
        assert pssm.pvalues[s] == pytest.approx(exact, rel=1e-12, abs=0)
    assert pssm.pvalues[pssm.max_score] > 0 and pssm.pvalues[pssm.max_score + 1] == 0
    assert pssm.max_score == scores.max()
    # the raw score FIMO reports for an integer score
    assert pssm.raw_score(100) == 100 / pssm.scale + width * pssm.offset


def _brute_force_hits(motifs, codes, threshold, background=None, both=True):
    """Every window scored with numpy; the same conventions as scan(), none of its code."""
    bg = check_background(background, symmetrize=both)
    rows = []
    for k, motif in enumerate(motifs):
        pssm = scaled_pssm(motif, bg)
        w = motif.width
        if w > codes.shape[1]:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(codes, w, axis=1)
        valid = (windows < 4).all(axis=-1)
        safe = np.minimum(windows, 3)
        strands = [("+", pssm.scaled)] + ([("-", pssm.scaled[::-1, ::-1])] if both else [])
        for strand, matrix in strands:
            scores = matrix[safe, np.arange(w)].sum(axis=-1)
            p = pssm.pvalues[scores]
            for i, start in zip(*np.nonzero(valid & (p < threshold))):
                window = decode_integers(codes[i : i + 1, start : start + w])[0]
                matched = window if strand == "+" else window.translate(_COMPLEMENT)[::-1]
                rows.append((i, k, motif.id, motif.name, start, start + w, strand, pssm.raw_score(scores[i, start]), p[i, start], matched))
    table = pd.DataFrame(rows, columns=HIT_COLUMNS)
    return table.sort_values(["sequence_index", "start", "motif_index", "strand"]).reset_index(drop=True)


def _assert_same_hits(hits, expected):
    assert len(hits) == len(expected)
    for column in ["sequence_index", "motif_index", "motif_id", "motif_name", "start", "end", "strand", "matched"]:
        assert hits[column].tolist() == expected[column].tolist(), column
    np.testing.assert_array_equal(hits["score"].to_numpy(), expected["score"].to_numpy())
    np.testing.assert_array_equal(hits["p_value"].to_numpy(), expected["p_value"].to_numpy())


@pytest.fixture(scope="module")
def random_case():
    rng = np.random.default_rng(7)
    motifs = [_random_motif(rng, w, f"R{w}") for w in (3, 6, 8, 10, 12, 15, 19, 24)]
    codes = rng.choice(4, size=(120, 150), p=[0.3, 0.2, 0.2, 0.3]).astype(np.uint8)
    codes[rng.random(codes.shape) < 0.01] = 4  # scattered Ns
    # plant consensus instances on both strands, one of them broken by an N
    for i, motif in enumerate(motifs):
        site = encode_integers([motif.consensus])[0]
        codes[i, 10 : 10 + motif.width] = site
        codes[i + 10, 40 : 40 + motif.width] = 3 - site[::-1]
        codes[i + 20, 70 : 70 + motif.width] = site
        codes[i + 20, 70 + motif.width // 2] = 4
    return motifs, codes


@pytest.mark.parametrize("threshold", [1e-3, 1e-4])
def test_scan_equals_brute_force(random_case, threshold):
    motifs, codes = random_case
    hits = scan(motifs, codes, threshold=threshold)
    expected = _brute_force_hits(motifs, codes, threshold)
    assert len(expected) > (150 if threshold == 1e-3 else 20)
    _assert_same_hits(hits, expected)


def test_scan_single_strand_and_background_equal_brute_force(random_case):
    motifs, codes = random_case
    bg = [0.35, 0.15, 0.2, 0.3]
    _assert_same_hits(scan(motifs, codes, threshold=1e-3, background=bg), _brute_force_hits(motifs, codes, 1e-3, bg))
    single = scan(motifs, codes, threshold=1e-3, both_strands=False, background=bg)
    _assert_same_hits(single, _brute_force_hits(motifs, codes, 1e-3, bg, both=False))
    assert set(single["strand"]) == {"+"}


def test_planted_sites_found_on_both_strands_and_n_windows_never_hit(random_case):
    motifs, codes = random_case
    hits = scan(motifs, codes, threshold=1e-3)
    for i, motif in enumerate(motifs):
        if motif.width < 6:
            continue  # too short to reach p < 1e-3 with certainty
        fwd = hits[(hits.motif_index == i) & (hits.sequence_index == i) & (hits.start == 10) & (hits.strand == "+")]
        rev = hits[(hits.motif_index == i) & (hits.sequence_index == i + 10) & (hits.start == 40) & (hits.strand == "-")]
        assert fwd.matched.tolist() == [motif.consensus] and rev.matched.tolist() == [motif.consensus]
        broken = hits[(hits.motif_index == i) & (hits.sequence_index == i + 20) & (hits.start == 70)]
        assert broken.empty
    windows_with_n = [
        (codes[r.sequence_index, r.start : r.end] == 4).any() for r in hits.itertuples()
    ]
    assert not any(windows_with_n)
    assert "N" not in "".join(hits.matched)


def test_batch_size_thread_count_and_input_form_do_not_change_hits(random_case):
    motifs, codes = random_case
    reference = scan(motifs, codes, threshold=1e-3)
    for batch_size, n_threads in [(1, 1), (7, 2), (1000, 3)]:
        pd.testing.assert_frame_equal(scan(motifs, codes, threshold=1e-3, batch_size=batch_size, n_threads=n_threads), reference)
    strings = [s.lower() for s in decode_integers(codes)]
    pd.testing.assert_frame_equal(scan(motifs, strings, threshold=1e-3), reference)


def test_sequences_of_different_lengths(random_case):
    motifs, codes = random_case
    strings = decode_integers(codes)
    ragged = [s[: 150 - (i % 3) * 20] for i, s in enumerate(strings)]
    hits = scan(motifs, ragged, threshold=1e-3)
    parts = []
    for length in (150, 130, 110):
        idx = [i for i, s in enumerate(ragged) if len(s) == length]
        part = scan(motifs, [ragged[i] for i in idx], threshold=1e-3)
        part["sequence_index"] = np.array(idx, dtype=np.int64)[part["sequence_index"].to_numpy()]
        parts.append(part)
    expected = pd.concat(parts).sort_values(["sequence_index", "start", "motif_index", "strand"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(hits, expected)


def test_columns_dtypes_and_order(random_case):
    motifs, codes = random_case
    hits = scan(motifs, codes, threshold=1e-3)
    assert list(hits.columns) == HIT_COLUMNS
    assert str(hits.sequence_index.dtype) == "int64" and str(hits.motif_index.dtype) == "int32"
    assert str(hits.start.dtype) == "int64" and str(hits.end.dtype) == "int64"
    assert str(hits.score.dtype) == "float64" and str(hits.p_value.dtype) == "float64"
    keys = list(zip(hits.sequence_index, hits.start, hits.motif_index, hits.strand))
    assert keys == sorted(keys)
    assert (hits.p_value > 0).all() and (hits.p_value < 1e-3).all()
    empty = scan(motifs, codes[:, :2])
    assert list(empty.columns) == HIT_COLUMNS and len(empty) == 0
    assert empty.dtypes.equals(hits.dtypes)


def test_short_jaspar_motif_has_exact_nonzero_pvalues():
    # MA0103.4 (ZEB1) is 6 wide: its best possible window has p = 4**-6 under a uniform
    # background, so FIMO reports nothing at p < 1e-4 (memelite 0.5.0 reported p = 0 here).
    (zeb1,) = load_motifs("jaspar:ids=MA0103.4")
    sequences = [zeb1.consensus * 3, "ACGT" * 5]
    with pytest.warns(UserWarning, match="cannot reach p < 0.0001"):
        assert scan([zeb1], sequences).empty
    hits = scan([zeb1], sequences, threshold=1e-3)
    best = hits[hits.matched == zeb1.consensus]
    assert len(best) >= 3 and (best.p_value == 4.0**-6).all()
    assert (hits.p_value >= 4.0**-6).all()


def test_bad_input():
    m = Motif("M", "m", np.full((4, 3), 0.25))
    with pytest.raises(UserError, match="threshold"):
        scan([m], ["ACGT"], threshold=0)
    with pytest.raises(UserError, match="code 7"):
        scan([m], np.array([[0, 1, 7]]))
    with pytest.raises(UserError, match="expected a Motif"):
        scan(["MA0035"], ["ACGT"])
    with pytest.raises(UserError, match="background"):
        scan([m], ["ACGT"], background=[1, 0, 0, 0])


def test_many_hits_fill_and_grow_the_kernel_buffers():
    rng = np.random.default_rng(3)
    motifs = [_random_motif(rng, 4, "W4", sharp=0.2), _random_motif(rng, 9, "W9", sharp=0.3)]
    codes = rng.choice(4, size=(300, 100)).astype(np.uint8)
    hits = scan(motifs, codes, threshold=0.3, batch_size=150)
    assert len(hits) > 10_000
    _assert_same_hits(hits, _brute_force_hits(motifs, codes, 0.3))


def test_pruned_pvalue_table_equals_the_full_one_from_its_floor_up():
    from regsim.dataset_builder._scan_kernels import pvalue_table

    rng = np.random.default_rng(11)
    for width in (4, 9, 16):
        motif = _random_motif(rng, width, "P")
        bg = check_background([0.28, 0.22, 0.23, 0.27])
        pssm = scaled_pssm(motif, bg)
        np.testing.assert_array_equal(score_pvalues(pssm.scaled, bg), pssm.pvalues)
        for floor in (1, pssm.max_score // 2, pssm.max_score - 3, pssm.max_score + 5):
            pruned = pvalue_table(pssm.scaled, bg, np.int64(PSSM_RANGE), np.int64(floor))
            np.testing.assert_array_equal(pruned[floor:], pssm.pvalues[floor:])
            assert np.isnan(pruned[:floor]).all()


def test_floor_guess_above_the_cutoff_falls_back_to_the_full_table(random_case, monkeypatch):
    import regsim.dataset_builder.scan as scan_module

    motifs, codes = random_case
    reference = scan(motifs, codes, threshold=1e-3)
    monkeypatch.setattr(scan_module, "_floor_guess", lambda scaled, bg, threshold: int(scaled.max(axis=0).sum()))
    pd.testing.assert_frame_equal(scan(motifs, codes, threshold=1e-3), reference)
