"""References: hand-computed compositions, dinucleotide-preserving shuffles seeded per sequence, array
forms, and the input checks."""

from __future__ import annotations

import numpy as np
import pytest

from regsim.dataset_builder.dinucleotide_shuffle import dinucleotide_counts
from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.sequences import one_hot_encode
from regsim.models.attribution._common import validate_inputs
from regsim.models.attribution.references import ReferenceSource, make_references, parse_reference
from test_attribution_toys import random_one_hot


def test_zeros_base_freq_and_gc_matched_by_hand():
    X = one_hot_encode(["AACG", "GGGT"])  # 8 bases: A 2, C 1, G 4, T 1
    np.testing.assert_array_equal(make_references(X, "zeros"), np.zeros((2, 1, 4, 4)))
    freq = make_references(X, "base_freq")
    assert freq.shape == (2, 1, 4, 4)
    np.testing.assert_allclose(freq[1, 0, :, 2], [2 / 8, 1 / 8, 4 / 8, 1 / 8])
    gc = make_references(X, "gc_matched")
    np.testing.assert_allclose(gc[0, 0, :, 0], [0.25, 0.25, 0.25, 0.25])  # AACG: GC 1/2
    np.testing.assert_allclose(gc[1, 0, :, 3], [0.125, 0.375, 0.375, 0.125])  # GGGT: GC 3/4


def test_shuffles_keep_dinucleotides_and_are_seeded_per_sequence():
    X = random_one_hot(6, 50, seed=1)
    refs = make_references(X, "shuffled", n_refs=4, random_state=3)
    assert refs.shape == (6, 4, 4, 50) and refs.dtype == np.float32
    for i in range(6):
        for k in range(4):
            np.testing.assert_array_equal(dinucleotide_counts(refs[i, k]), dinucleotide_counts(X[i]))
        assert not np.array_equal(refs[i, 0], refs[i, 1])
    source = ReferenceSource("shuffled", X, n_refs=4, random_state=3)
    np.testing.assert_array_equal(source.batch(slice(2, 5), X[2:5]), refs[2:5])
    assert not np.array_equal(make_references(X, "shuffled", n_refs=4, random_state=4), refs)
    np.testing.assert_array_equal(make_references(X, "shuffled10", random_state=3)[:, :4].shape, refs.shape)


def test_reference_names():
    assert parse_reference("shuffled", 20) == ("shuffled", 20)
    assert parse_reference("shuffled50", 20) == ("shuffled", 50)
    assert parse_reference("zeros", 20) == ("zeros", 1)
    for bad in ("shuffle", "shuffled0", "ones"):
        with pytest.raises(UserError):
            parse_reference(bad)


def test_reference_arrays_in_every_shape():
    X = random_one_hot(3, 10)
    composition = np.array([0.3, 0.2, 0.2, 0.3], dtype=np.float32)
    for given in (composition, np.repeat(composition[:, None], 10, axis=1),
                  np.broadcast_to(composition[None, :, None], (3, 4, 10)),
                  np.broadcast_to(composition[None, None, :, None], (3, 2, 4, 10))):
        source = ReferenceSource(given, X)
        batch = source.batch(slice(1, 3), X[1:3])
        assert batch.shape == (2, source.n_refs, 4, 10)
        np.testing.assert_allclose(batch[:, :, :, 7], np.broadcast_to(composition, (2, source.n_refs, 4)))
    with pytest.raises(UserError, match="do not fit"):
        ReferenceSource(np.zeros((2, 4, 10)), X)
    with pytest.raises(UserError, match="non-finite"):
        ReferenceSource(np.full((4,), np.nan), X)


def test_input_checks_name_the_example_and_position():
    X = random_one_hot(3, 10)
    X[2, :, 7] = [0.5, 0.5, 0, 0]
    with pytest.raises(UserError, match="example 2, position 7"):
        validate_inputs(X)
    with pytest.raises(UserError, match=r"\(N, 4, L\)"):
        validate_inputs(np.zeros((3, 10, 4)))
    X[2, :, 7] = 0  # an N is fine
    assert validate_inputs(X).dtype == np.float32
