"""The exact dinucleotide shuffle: invariants, determinism, and uniformity against brute force."""

from __future__ import annotations

import collections
import doctest
import random

import numba
import numpy as np
import pytest
from scipy.stats import chisquare

import regsim.dataset_builder.dinucleotide_shuffle as shuffle_module
from regsim.dataset_builder.dinucleotide_shuffle import (
    dinucleotide_counts,
    dinucleotide_shuffle,
    sequence_seeds,
)
from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.sequences import decode_integers, encode_integers, one_hot_from_integers


# --- helpers -------------------------------------------------------------------------------------

def all_shuffles(seq: str) -> list[str]:
    """Every sequence with the dinucleotide counts and first base of ``seq`` (depth first)."""
    remaining = collections.Counter(zip(seq, seq[1:]))
    letters = sorted(set(seq))
    found = []

    def extend(prefix):
        if len(prefix) == len(seq):
            found.append("".join(prefix))
            return
        for b in letters:
            if remaining[prefix[-1], b]:
                remaining[prefix[-1], b] -= 1
                prefix.append(b)
                extend(prefix)
                prefix.pop()
                remaining[prefix[-1], b] += 1

    extend([seq[0]])
    return found


def uniformity_p_value(seq: str, samples: list[str]) -> float:
    """Chi-square p-value of ``samples`` against the uniform law on ``all_shuffles(seq)``."""
    valid = all_shuffles(seq)
    tally = collections.Counter(samples)
    assert set(tally) <= set(valid), f"invalid shuffles: {set(tally) - set(valid)}"
    return chisquare([tally[v] for v in valid]).pvalue


def letter_uniform_tree_shuffle(seq: str, rng: random.Random) -> str:
    """A deliberately wrong Altschul-Erikson: last exits chosen uniformly among distinct successor
    letters (not among edges), so trees are drawn uniformly instead of by edge multiplicity."""
    successors = collections.defaultdict(list)
    for a, b in zip(seq, seq[1:]):
        successors[a].append(b)
    root = seq[-1]
    while True:
        last = {v: rng.choice(sorted(set(s))) for v, s in successors.items() if v != root}
        if all(_reaches(v, last, root) for v in last):
            break
    order = {}
    for v, s in successors.items():
        rest = list(s)
        if v != root:
            rest.remove(last[v])
        rng.shuffle(rest)
        order[v] = rest + ([last[v]] if v != root else [])
    out, cur = [seq[0]], seq[0]
    for _ in range(len(seq) - 1):
        cur = order[cur].pop(0)
        out.append(cur)
    return "".join(out)


def _reaches(v, last, root):
    seen = set()
    while v != root:
        if v in seen:
            return False
        seen.add(v)
        v = last[v]
    return True


def random_codes(rng, n_seq, length, p=(0.29, 0.21, 0.21, 0.29, 0.0)):
    return rng.choice(5, size=(n_seq, length), p=np.asarray(p) / sum(p)).astype(np.uint8)


# --- invariants ----------------------------------------------------------------------------------

def test_dinucleotide_counts_by_hand():
    counts = dinucleotide_counts(["ACGTNA", "AAAA"])
    expected = np.zeros((2, 5, 5), dtype=np.int64)
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)]:
        expected[0, a, b] = 1
    expected[1, 0, 0] = 3
    np.testing.assert_array_equal(counts, expected)
    codes = encode_integers(["ACGTNA"])
    np.testing.assert_array_equal(dinucleotide_counts(codes), expected[:1])
    np.testing.assert_array_equal(dinucleotide_counts(one_hot_from_integers(codes)), expected[:1])


@pytest.mark.parametrize("p", [(0.29, 0.21, 0.21, 0.29, 0.0), (0.25, 0.2, 0.2, 0.25, 0.1),
                               (0.9, 0.0, 0.0, 0.0, 0.1), (1.0, 0.0, 0.0, 0.0, 0.0)])
@pytest.mark.parametrize("length", [1, 2, 3, 5, 37, 400])
def test_counts_and_ends_preserved(p, length):
    rng = np.random.default_rng(length)
    X = random_codes(rng, 300, length, p)
    out = dinucleotide_shuffle(X, 4, random_state=7)
    assert out.shape == (300, 4, length) and out.dtype == np.uint8
    def per_shuffle(a):
        return np.repeat(a[:, None], 4, axis=1)

    np.testing.assert_array_equal(dinucleotide_counts(out), per_shuffle(dinucleotide_counts(X)))
    np.testing.assert_array_equal(out[:, :, 0], per_shuffle(X[:, 0]))
    np.testing.assert_array_equal(out[:, :, -1], per_shuffle(X[:, -1]))
    np.testing.assert_array_equal(np.sort(out, axis=-1), per_shuffle(np.sort(X, axis=-1)))


def test_forced_sequences_are_returned_unchanged():
    seqs = ["", "A", "AC", "AAAAAAA", "NNNNN", "ACACACAC", "ACGTN"]
    out = dinucleotide_shuffle(seqs, 3, random_state=0)
    assert out == [[s] * 3 for s in seqs]


def test_empty_batches():
    assert dinucleotide_shuffle(np.zeros((0, 10), dtype=np.uint8), 3).shape == (0, 3, 10)
    assert dinucleotide_shuffle(np.zeros((0, 4, 10), dtype=np.float32), 3).shape == (0, 3, 4, 10)
    assert dinucleotide_shuffle([], 3) == []
    assert dinucleotide_shuffle(np.zeros((2, 7), dtype=np.uint8), 0).shape == (2, 0, 7)


def test_docstring_example():
    assert doctest.testmod(shuffle_module).failed == 0


def test_shuffles_actually_vary():
    X = random_codes(np.random.default_rng(0), 20, 200)
    out = dinucleotide_shuffle(X, 5, random_state=0)
    assert (out != X[:, None]).mean() > 0.5
    assert all(len({row.tobytes() for row in out[i]}) == 5 for i in range(len(X)))


def test_one_hot_matches_codes_and_keeps_dtype():
    X = random_codes(np.random.default_rng(1), 50, 120, (0.25, 0.25, 0.25, 0.2, 0.05))
    codes_out = dinucleotide_shuffle(X, 3, random_state=5)
    for dtype in (np.float32, np.float64, np.float16, np.int8):
        out = dinucleotide_shuffle(one_hot_from_integers(X, dtype=dtype), 3, random_state=5)
        assert out.dtype == dtype and out.shape == (50, 3, 4, 120)
        np.testing.assert_array_equal(out, one_hot_from_integers(codes_out.reshape(150, 120), dtype)
                                      .reshape(50, 3, 4, 120))


def test_strings_match_codes_and_keep_other_letters():
    rng = np.random.default_rng(2)
    X = random_codes(rng, 40, 60, (0.25, 0.25, 0.25, 0.2, 0.05))
    seqs = decode_integers(X)
    out = dinucleotide_shuffle([s.lower() for s in seqs], 2, random_state=9)
    expected = dinucleotide_shuffle(X, 2, random_state=9)
    assert out == [decode_integers(expected[i]) for i in range(40)]
    # Variable lengths and IUPAC letters: each character is a letter of its own.
    mixed = ["ACGRYNNACGTRA", "ACG", "TTTSWAT"]
    out = dinucleotide_shuffle(mixed, 10, random_state=1)
    for s, shuffles in zip(mixed, out):
        for t in shuffles:
            assert collections.Counter(zip(s, s[1:])) == collections.Counter(zip(t, t[1:]))
            assert t[0] == s[0] and t[-1] == s[-1]


def test_torch_tensor_round_trip():
    torch = pytest.importorskip("torch")
    X = random_codes(np.random.default_rng(3), 10, 50)
    oh = one_hot_from_integers(X)
    out = dinucleotide_shuffle(torch.from_numpy(oh), 2, random_state=4)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), dinucleotide_shuffle(oh, 2, random_state=4))


# --- determinism ---------------------------------------------------------------------------------

def test_seeded_determinism_and_seed_sensitivity():
    X = random_codes(np.random.default_rng(4), 100, 300)
    a = dinucleotide_shuffle(X, 3, random_state=123)
    np.testing.assert_array_equal(a, dinucleotide_shuffle(X, 3, random_state=123))
    np.testing.assert_array_equal(a, dinucleotide_shuffle(X, 3, random_state=np.int64(123)))
    np.testing.assert_array_equal(a, dinucleotide_shuffle(X, 3, random_state=123, verbose=True))
    assert (a != dinucleotide_shuffle(X, 3, random_state=124)).any()
    assert (dinucleotide_shuffle(X, 1) != dinucleotide_shuffle(X, 1)).any()  # fresh entropy


def test_batch_prefix_seeds_and_threads_invariance(monkeypatch):
    monkeypatch.setattr(shuffle_module, "_PARALLEL_MIN_WORK", 0)  # chunk and thread even small work
    X = random_codes(np.random.default_rng(5), 500, 150, (0.25, 0.25, 0.25, 0.2, 0.05))
    full = dinucleotide_shuffle(X, 4, random_state=11)
    np.testing.assert_array_equal(full[:37], dinucleotide_shuffle(X[:37], 4, random_state=11))
    window = dinucleotide_shuffle(X[200:260], 4, seeds=sequence_seeds(11, np.arange(200, 260)))
    np.testing.assert_array_equal(full[200:260], window)
    np.testing.assert_array_equal(full, dinucleotide_shuffle(X, 4, seeds=sequence_seeds(11, 500)))
    # Shuffle k does not depend on how many shuffles were asked for.
    np.testing.assert_array_equal(full[:, :2], dinucleotide_shuffle(X, 2, random_state=11))
    threads = numba.get_num_threads()
    assert len(shuffle_module._chunks(len(X), 10**9)) > 1 or threads == 1
    try:
        numba.set_num_threads(1)
        single = dinucleotide_shuffle(X, 4, random_state=11)
        single_one_hot = dinucleotide_shuffle(one_hot_from_integers(X), 4, random_state=11)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(full, single)
    threaded_one_hot = dinucleotide_shuffle(one_hot_from_integers(X), 4, random_state=11)
    np.testing.assert_array_equal(threaded_one_hot, single_one_hot)
    # Same sequence, different seeds: different shuffles.
    same = dinucleotide_shuffle(np.repeat(X[:1], 50, 0), 1, random_state=0)
    assert len({row.tobytes() for row in same[:, 0]}) > 40


# --- uniformity ----------------------------------------------------------------------------------

@pytest.mark.parametrize("seq", ["ACAGATACGA", "AACAGCAGAT", "GATTACAGAT", "AAAGAAACTAA",
                                 "CTCAACTACTA", "ACNNACGNAGCA", "CAGCAGTTGCAACG"])
def test_uniform_over_all_valid_shuffles(seq):
    n_valid = len(all_shuffles(seq))
    assert n_valid >= 12
    n = 150 * n_valid
    # Shuffles of one sequence (streams keyed by shuffle index) ...
    out = dinucleotide_shuffle([seq], n, random_state=2024)[0]
    p_shuffles = uniformity_p_value(seq, out)
    # ... and single shuffles of many copies (streams keyed by sequence seed).
    copies = dinucleotide_shuffle([seq] * n, 1, random_state=2025)
    p_copies = uniformity_p_value(seq, [c[0] for c in copies])
    assert p_shuffles > 1e-3 and p_copies > 1e-3, (n_valid, p_shuffles, p_copies)


def test_uniformity_test_rejects_keep_last_successor_shuffle():
    """tangermeme's (like DeepLIFT's) shuffle keeps each base's last successor: not uniform."""
    torch = pytest.importorskip("torch")
    ersatz = pytest.importorskip("tangermeme.ersatz")
    seq = "AACAGCAGAT"  # 24 valid shuffles; keeping the last successors reaches only 12
    n = 150 * len(all_shuffles(seq))
    x = torch.from_numpy(one_hot_from_integers(encode_integers([seq])))
    shuffled = ersatz.dinucleotide_shuffle(x, n=n, random_state=0)[0].numpy()
    samples = decode_integers(shuffled.argmax(axis=1).astype(np.uint8))
    assert uniformity_p_value(seq, samples) < 1e-30
    # The same counts and ends are kept, so only the uniformity test catches it.
    assert all(s[0] == seq[0] and s[-1] == seq[-1] for s in samples)


def test_uniformity_test_rejects_unweighted_last_exit_trees():
    """Choosing each last exit uniformly among successor letters (ignoring edge multiplicity)
    gives valid shuffles with the wrong law; the same chi-square must reject it."""
    seq = "GAAGCGCAGCA"  # 27 valid shuffles in 3 trees; total variation from uniform 1/3
    rng = random.Random(0)
    samples = [letter_uniform_tree_shuffle(seq, rng) for _ in range(150 * len(all_shuffles(seq)))]
    assert uniformity_p_value(seq, samples) < 1e-30


def test_ushuffle_agrees_on_counts_and_law():
    """ushuffle (C, the reference implementation; benchmark extra) keeps the same counts and passes
    the same uniformity test, on its own random numbers."""
    ushuffle = pytest.importorskip("ushuffle")
    ushuffle.set_seed(1)
    seq = "GAAGCGCAGCA"
    n = 150 * len(all_shuffles(seq))
    samples = [ushuffle.shuffle(seq.encode(), 2).decode() for _ in range(n)]
    assert uniformity_p_value(seq, samples) > 1e-3
    X = random_codes(np.random.default_rng(6), 30, 300, (0.25, 0.25, 0.25, 0.2, 0.05))
    ours = dinucleotide_shuffle(X, 1, random_state=0)[:, 0]
    theirs = encode_integers([ushuffle.shuffle(s.encode(), 2).decode() for s in decode_integers(X)])
    np.testing.assert_array_equal(dinucleotide_counts(ours), dinucleotide_counts(theirs))


# --- bad input -----------------------------------------------------------------------------------

def test_bad_inputs_raise_user_errors():
    with pytest.raises(UserError, match="example 1"):
        dinucleotide_shuffle(np.array([[0, 1, 2], [0, 5, 1]], dtype=np.uint8))
    oh = one_hot_from_integers(np.zeros((3, 6), dtype=np.uint8))
    oh[2, 1, 4] = 1
    with pytest.raises(UserError, match="example 2, position 4"):
        dinucleotide_shuffle(oh)
    oh[2, 1, 4] = 0
    oh[1, 0, 0] = 0.5
    with pytest.raises(UserError, match="example 1, position 0"):
        dinucleotide_shuffle(oh)
    with pytest.raises(UserError, match="not both"):
        dinucleotide_shuffle(["ACGT"], seeds=[1], random_state=1)
    with pytest.raises(UserError, match="one per sequence"):
        dinucleotide_shuffle(["ACGT", "AC"], seeds=[1])
    with pytest.raises(UserError, match="single string"):
        dinucleotide_shuffle("ACGT")
    with pytest.raises(UserError, match="example 1"):
        dinucleotide_shuffle(["ACGT", 7])
    with pytest.raises(UserError, match="shape"):
        dinucleotide_shuffle(np.zeros((2, 3, 4), dtype=np.float32))
    with pytest.raises(UserError, match="n must"):
        dinucleotide_shuffle(["ACGT"], -1)
