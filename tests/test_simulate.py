"""Realistic simulation: pasting real instances into shuffles, backbones, the ground-truth mask."""

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from regsim.dataset_builder.dinucleotide_shuffle import dinucleotide_counts
from regsim.dataset_builder.inputs import Regions
from regsim.dataset_builder.core.sequences import decode_integers, encode_integers
from regsim.dataset_builder.simulate import interval_mask, simulate_realistic


def random_sequences(n, length, seed):
    rng = np.random.default_rng(seed)
    return decode_integers(rng.integers(0, 4, size=(n, length)))


def regions(sequences, name):
    return Regions(list(sequences), [f"{name}{i}" for i in range(len(sequences))], [None] * len(sequences), Path(name))


def hit_table(rows):
    table = pd.DataFrame(rows, columns=["sequence_index", "motif_index", "start", "end", "strand"])
    table["motif_id"] = ["M%d" % k for k in table["motif_index"]]
    table["motif_name"] = ["m%d" % k for k in table["motif_index"]]
    table["score"] = 10.0
    table["p_value"] = 1e-5
    return table


def test_interval_mask_is_union_of_intervals():
    mask = interval_mask([0, 0, 1], [2, 4, 0], [5, 7, 1], (2, 8))
    assert mask.astype(int).tolist() == [[0, 0, 1, 1, 1, 1, 1, 0], [1, 0, 0, 0, 0, 0, 0, 0]]


def test_positives_keep_their_instances_negatives_carry_background_instances():
    positives = regions(random_sequences(6, 50, 1), "pos")
    background = regions(random_sequences(4, 50, 2), "bg")
    positive_hits = hit_table([(0, 0, 5, 15, "+"), (0, 1, 12, 20, "-"), (2, 0, 30, 40, "+"), (5, 1, 0, 8, "+")])
    background_hits = hit_table([(1, 0, 20, 30, "+"), (3, 1, 42, 50, "-")])
    splits_pos = np.array(["train", "train", "test", "train", "test", "train"], dtype=object)
    splits_bg = np.array(["train", "test", "train", "test"], dtype=object)
    sim = simulate_realistic(positives, background, positive_hits, background_hits,
                             positive_splits=splits_pos, background_splits=splits_bg, random_state=7)

    assert sim.dropped == Counter({"positives_without_retained_motif": 3})  # 1, 3, 4 have no hit
    assert sim.ids == ["pos-000000", "pos-000002", "pos-000005", "neg-000000", "neg-000001", "neg-000002", "neg-000003"]
    assert sim.labels.tolist() == [1, 1, 1, 0, 0, 0, 0]
    assert sim.splits.tolist() == ["train", "test", "train", "train", "test", "train", "test"]
    simulated = decode_integers(sim.codes)
    real_pos, real_bg = positives.sequences, background.sequences
    # pasted real bases at the original coordinates
    assert simulated[0][5:20] == real_pos[0][5:20]
    assert simulated[1][30:40] == real_pos[2][30:40]
    assert simulated[2][0:8] == real_pos[5][0:8]
    assert simulated[4][20:30] == real_bg[1][20:30]
    assert simulated[6][42:50] == real_bg[3][42:50]
    # a negative without background hits is a pure dinucleotide shuffle of a same-split positive
    for row in (3, 5):
        backbone = int(sim.backbones[row].removeprefix("pos"))
        assert splits_pos[backbone] == sim.splits[row]
        np.testing.assert_array_equal(dinucleotide_counts(encode_integers([simulated[row]])),
                                      dinucleotide_counts(encode_integers([real_pos[backbone]])))
    # implanted rows point at the simulated records
    assert sim.implanted["sequence_index"].tolist() == [0, 0, 1, 2, 4, 6]
    # determinism
    again = simulate_realistic(positives, background, positive_hits, background_hits,
                               positive_splits=splits_pos, background_splits=splits_bg, random_state=7)
    np.testing.assert_array_equal(again.codes, sim.codes)
    other = simulate_realistic(positives, background, positive_hits, background_hits,
                               positive_splits=splits_pos, background_splits=splits_bg, random_state=8)
    assert not np.array_equal(other.codes, sim.codes)


def test_shuffled_region_outside_instances_changes():
    positives = regions(random_sequences(1, 400, 3), "pos")
    background = regions(random_sequences(1, 400, 4), "bg")
    sim = simulate_realistic(positives, background, hit_table([(0, 0, 100, 110, "+")]), hit_table([]),
                             positive_splits=np.array(["train"], dtype=object),
                             background_splits=np.array(["train"], dtype=object), random_state=0)
    simulated = decode_integers(sim.codes)[0]
    outside = [i for i in range(400) if not 100 <= i < 110]
    identical = sum(simulated[i] == positives.sequences[0][i] for i in outside)
    assert identical < 0.5 * len(outside)  # shuffled, not copied (expected ~25 % by chance)
