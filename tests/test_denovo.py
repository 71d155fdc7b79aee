"""De novo motifs: seqlets to a trimmed matrix on a planted motif, and the whole route's determinism."""

from functools import partial

import numpy as np
import pandas as pd
import pytest

from regsim.dataset_builder.build import BuildSettings, build_dataset
from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.sequences import one_hot_encode
from regsim.dataset_builder.motifs import load_motifs
from regsim.models.seqlet_matrix import core_span, information_content, seqlet_counts

ALPHABET = np.array(list("ACGT"))


def _plant(rng, pwm, n, length):
    """``n`` uniform random sequences with one PWM sample each, either strand; returns sequences,
    starts and strands."""
    w = pwm.shape[1]
    codes = rng.integers(0, 4, size=(n, length))
    starts = rng.integers(0, length - w + 1, size=n)
    minus = rng.random(n) < 0.5
    for i in range(n):
        sample = np.array([rng.choice(4, p=pwm[:, j]) for j in range(w)])
        codes[i, starts[i] : starts[i] + w] = (3 - sample)[::-1] if minus[i] else sample
    return ["".join(ALPHABET[row]) for row in codes], starts, minus


def test_information_content_by_hand():
    counts = np.array([[10, 5, 0], [0, 5, 0], [0, 0, 0], [0, 0, 10]], dtype=float)
    # pseudocount 0.5: column 1 = (10.5, .5, .5, .5)/12; column 2 = (5.5, 5.5, .5, .5)/12
    p1 = np.array([10.5, 0.5, 0.5, 0.5]) / 12
    p2 = np.array([5.5, 5.5, 0.5, 0.5]) / 12
    expected = [2 + (p1 * np.log2(p1)).sum(), 2 + (p2 * np.log2(p2)).sum(), 2 + (p1 * np.log2(p1)).sum()]
    np.testing.assert_allclose(information_content(counts), expected)
    # 1.26, 0.59 and 1.26 bits: column 1 lies inside the span of the informative columns
    assert core_span(counts, min_ic=1.0) == (0, 3)
    assert core_span(counts, min_ic=0.5) == (0, 3)
    assert core_span(counts, min_ic=1.3) is None


def test_seqlets_recover_the_planted_pwm():
    rng = np.random.default_rng(0)
    pwm = np.asarray(load_motifs("jaspar:JASPAR2024:ids=MA0035")[0].probabilities)  # GATA1, (4, 11)
    w = pwm.shape[1]
    sequences, starts, minus = _plant(rng, pwm, 3000, 60)
    X = one_hot_encode(sequences)
    flank = 6
    seqlets = []
    for i, (start, is_minus) in enumerate(zip(starts, minus)):
        if start - flank < 0 or start + w + flank > 60:
            continue
        seqlets.append((i, int(start) - flank, int(start) + w + flank, bool(is_minus)))
    counts = seqlet_counts(X, seqlets)
    assert counts.shape == (4, w + 2 * flank) and np.allclose(counts.sum(axis=0), len(seqlets))
    start, end = core_span(counts)
    ic = information_content(pwm * len(seqlets))
    informative = np.flatnonzero(ic >= 0.5)
    assert (start, end) == (flank + informative[0], flank + informative[-1] + 1)
    recovered = counts[:, flank : flank + w] / len(seqlets)
    assert np.abs(recovered - pwm).max() < 0.05
    assert np.corrcoef(recovered.ravel(), pwm.ravel())[0, 1] > 0.99
    # The flanks are uniform random bases: about 0 bits.
    assert information_content(counts[:, :flank]).max() < 0.05
    # A forward-strand reading of reverse-strand seqlets gives the reverse complement instead.
    forward = seqlet_counts(X, [(i, s, e, False) for i, s, e, r in seqlets if r])
    reverse = seqlet_counts(X, [(i, s, e, True) for i, s, e, r in seqlets if r])
    np.testing.assert_array_equal(forward, reverse[::-1, ::-1])


def test_denovo_without_a_discoverer_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--motifs denovo needs the models layer"):
        build_dataset(tmp_path / "x", BuildSettings(motifs="denovo"), verbose=False)


TINY = dict(arch="tiny", epochs=15, patience=5, n_refs=4, max_seqlets=400, n_leiden_runs=2, sliding_window_size=11,
            flank_size=3, trim_to_window_size=16, initial_flank_to_add=3, final_min_cluster_size=20,
            database="jaspar:JASPAR2024:ids=MA0035,MA0139,MA0142,MA0143,MA0018,MA0019,MA0025,MA0027,MA0030,"
            "MA0031,MA0040,MA0041,MA0043,MA0050,MA0051,MA0052,MA0056,MA0059,MA0063,MA0066,MA0067,MA0068,"
            "MA0069,MA0070,MA0071,MA0072,MA0074,MA0075,MA0076,MA0079")


@pytest.fixture(scope="module")
def planted_fastas(tmp_path_factory):
    """1,000 positives carrying a Pou5f1::Sox2 (MA0142.1) sample, 1,000 uniform background sequences, 80 bp."""
    rng = np.random.default_rng(5)
    pwm = np.asarray(load_motifs("jaspar:JASPAR2024:ids=MA0142")[0].probabilities)
    pos, _, _ = _plant(rng, pwm, 1000, 80)
    neg = ["".join(ALPHABET[rng.integers(0, 4, 80)]) for _ in range(1000)]
    folder = tmp_path_factory.mktemp("planted")
    for name, seqs in (("pos.fa", pos), ("neg.fa", neg)):
        (folder / name).write_text("".join(f">{name}{i}\n{s}\n" for i, s in enumerate(seqs)))
    return folder / "pos.fa", folder / "neg.fa"


@pytest.mark.slow
def test_denovo_route_is_deterministic_and_finds_the_planted_motif(planted_fastas, tmp_path):
    from regsim.models.denovo import DenovoSettings, discover_motifs

    discover = partial(discover_motifs, settings=DenovoSettings(**TINY))
    pos, neg = planted_fastas
    settings = BuildSettings(motifs="denovo", positives_fasta=str(pos), negatives_fasta=str(neg), seed=1,
                             min_hits=5, min_enrichment=1.0)
    outputs = []
    for name in ("a", "b"):
        build_dataset(tmp_path / name, settings, discover=discover, verbose=False)
        outputs.append(tmp_path / name)
    files = sorted(p.relative_to(outputs[0]) for p in outputs[0].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outputs[1]) for p in outputs[1].rglob("*") if p.is_file())
    for relative in files:
        if relative.name != "build_manifest.json":
            assert (outputs[0] / relative).read_bytes() == (outputs[1] / relative).read_bytes(), relative
    table = pd.read_csv(outputs[0] / "retained_motifs.tsv", sep="\t")
    assert table["motif_id"].str.startswith("denovo-").all()
    top = table.iloc[0]
    assert top["best_match_id"].startswith("MA0142") and top["best_match_q"] < 0.05, table
    assert top["motif_name"] == "Pou5f1::Sox2" and top["retained"] == "yes"
    card = (outputs[0] / "README.md").read_text()
    assert "discovered de novo" in card and "TF-MoDISco-lite" in card and "seed 1" in card
