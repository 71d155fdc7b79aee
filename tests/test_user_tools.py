"""What a user does with a model and its attributions: explain own regions (`attribute --fasta`,
`--bed --genome`), `regsim score`, `regsim plot`, `regsim motifs`, and `--quiet` on every command."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from regsim.cli import SUBCOMMANDS, build_parser, main
from regsim.dataset_builder.core.sequences import one_hot_encode
from regsim.metrics import score_attributions
from regsim.models import RegCNNForSequenceClassification, preset_config
from tiny_data import PLANTED, write_tiny_dataset

LENGTH = 50


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("tools")
    dataset = write_tiny_dataset(root / "data", n_per_class=10, length=LENGTH)
    torch.manual_seed(0)
    RegCNNForSequenceClassification(preset_config("tiny", LENGTH)).eval().save_pretrained(root / "model")
    attr = root / "attr"
    assert main(["attribute", "--model", str(root / "model"), "--dataset", str(dataset), "--split", "test",
                 "--methods", "grad_x_input,ism,gradcam_last,saliency", "--quiet", "--out", str(attr)]) == 0
    return root, dataset, attr


def _rng_sequence(rng, n):
    return "".join(rng.choice(list("ACGT"), size=n))


def test_attribute_fasta_centre_crops_to_the_model_width(setup, tmp_path, capsys):
    root, _, _ = setup
    rng = np.random.default_rng(0)
    long, exact, with_n = _rng_sequence(rng, 71), _rng_sequence(rng, LENGTH), _rng_sequence(rng, LENGTH)
    with_n = with_n[:10] + "N" + with_n[11:]
    fasta = tmp_path / "mine.fa"
    fasta.write_text(f">long\n{long[:40]}\n{long[40:].lower()}\n>exact\n{exact}\n>has_n\n{with_n}\n")
    out = tmp_path / "attr"
    assert main(["attribute", "--model", str(root / "model"), "--fasta", str(fasta), "--methods", "grad_x_input",
                 "--quiet", "--out", str(out)]) == 0
    assert "1 cropped to width, 1 non acgt bases" in capsys.readouterr().out
    with np.load(out / "grad_x_input__none.npz") as data:
        assert list(data["ids"]) == ["long", "exact"]
        np.testing.assert_array_equal(data["sequences"], one_hot_encode([long[10:60].upper(), exact]))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"] == str(fasta) and summary["dropped"]["non_acgt_bases"] == 1 and "split" not in summary


def test_attribute_bed_takes_windows_around_summit_or_midpoint(setup, tmp_path):
    root, _, _ = setup
    rng = np.random.default_rng(1)
    chrom = _rng_sequence(rng, 400)
    genome = tmp_path / "genome.fa"
    genome.write_text(">chr1\n" + "\n".join(chrom[i:i + 60] for i in range(0, 400, 60)) + "\n")
    bed = tmp_path / "regions.narrowPeak"
    # summit at 100 + 30; a BED-like midpoint line cannot share a narrowPeak file, so use the summit -1 rule
    bed.write_text("chr1\t100\t200\tp1\t0\t.\t0\t0\t0\t30\n"
                   "chr1\t300\t340\tp2\t0\t.\t0\t0\t0\t-1\n"
                   "chr1\t0\t20\tedge\t0\t.\t0\t0\t0\t5\n")
    out = tmp_path / "attr"
    assert main(["attribute", "--model", str(root / "model"), "--bed", str(bed), "--genome", str(genome),
                 "--methods", "grad_x_input", "--quiet", "--out", str(out)]) == 0
    with np.load(out / "grad_x_input__none.npz") as data:
        assert list(data["ids"]) == ["chr1:105-155", "chr1:295-345"]
        np.testing.assert_array_equal(data["sequences"], one_hot_encode([chrom[105:155], chrom[295:345]]))
    assert json.loads((out / "summary.json").read_text())["dropped"]["off_chromosome_edge"] == 1


def test_attribute_source_flags_are_checked(setup, tmp_path, capsys):
    root, dataset, _ = setup
    base = ["attribute", "--model", str(root / "model"), "--methods", "ism", "--out", str(tmp_path / "o")]
    assert main(base + ["--bed", str(tmp_path / "x.bed")]) == 2
    assert "--bed needs --genome" in capsys.readouterr().err
    assert main(base + ["--dataset", str(dataset), "--genome", str(tmp_path / "g.fa")]) == 2
    assert "--genome goes with --bed" in capsys.readouterr().err
    short = tmp_path / "short.fa"
    short.write_text(">s\nACGT\n")
    assert main(base + ["--fasta", str(short)]) == 2
    assert "record 1 (s) has length 4, shorter than the width 50" in capsys.readouterr().err


def test_score_writes_one_row_per_file_equal_to_the_metric(setup, capsys):
    root, dataset, attr = setup
    assert main(["score", str(attr), "--dataset", str(dataset), "--quiet"]) == 0
    printed = capsys.readouterr().out
    with open(attr / "scores.csv") as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"grad_x_input__none.npz", "ism__none.npz", "gradcam_last__none.npz", "saliency__none.npz"}
    from datasets import load_dataset

    test = load_dataset(str(dataset), "tiny", split="test")
    masks = np.asarray(test["motif_mask"])
    with np.load(attr / "grad_x_input__none.npz") as data:
        expected = score_attributions(list(data["attributions"]), list(masks))
    with np.load(attr / "ism__none.npz") as data:
        expected_ism = score_attributions(list(data["importance"]), list(masks))
    with np.load(attr / "saliency__none.npz") as data:
        expected_saliency = score_attributions(list(data["attributions"]), list(masks), channel_reduce="max_abs")
    for name, want in (("grad_x_input__none.npz", expected), ("ism__none.npz", expected_ism),
                       ("saliency__none.npz", expected_saliency)):
        row = rows[name]
        for key in ("auprc_mean", "auroc_mean", "auprc_pooled", "top_k_precision"):
            assert float(row[key]) == pytest.approx(want[key], rel=1e-5), (name, key)
        assert int(row["n_scored"]) == want["n_scored"]
    assert "motif_recall" in rows["ism__none.npz"] and rows["ism__none.npz"]["method"] == "ism"
    assert printed.splitlines()[0].split()[:3] == ["file", "auprc_mean", "auprc_sem"]
    assert f"{expected['auprc_mean']:.4f}" in next(l for l in printed.splitlines() if l.startswith("grad_x_input"))


def test_score_refuses_ids_not_in_the_dataset(setup, tmp_path, capsys):
    root, dataset, attr = setup
    assert main(["score", str(attr), "--dataset", str(dataset), "--split", "train"]) == 2
    error = capsys.readouterr().err
    assert "is not in" in error and "split 'train'" in error and len(error.strip().splitlines()) == 1


def test_logo_heights_and_plot_command(setup, tmp_path, capsys):
    from regsim.metrics.benchmark.plot import logo_matrix

    scores = np.arange(12, dtype=float).reshape(4, 3)
    np.testing.assert_array_equal(logo_matrix(scores), scores.T)
    x = one_hot_encode(["ACT"])[0]
    np.testing.assert_array_equal(logo_matrix(np.array([1.0, -2.0, 3.0]), x),
                                  [[1, 0, 0, 0], [0, -2, 0, 0], [0, 0, 0, 3]])
    root, dataset, attr = setup
    with np.load(attr / "grad_x_input__none.npz") as data:
        ids = list(data["ids"])
    from datasets import load_dataset

    test = load_dataset(str(dataset), "tiny", split="test")
    index = next(i for i, identifier in enumerate(ids) if test[test["id"].index(identifier)]["motifs"])
    out = tmp_path / "logo.png"
    assert main(["plot", str(attr / "ism__none.npz"), "--dataset", str(dataset), "--index", str(index),
                 "--out", str(out)]) == 0
    motifs = test[test["id"].index(ids[index])]["motifs"]
    assert f"sequence {ids[index]} (test), {len(motifs)} ground-truth motif instances" in capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(attr / "ism__none.npz"), "--index", "99", "--out", str(out)]) == 2
    assert "--index 99 is out of range" in capsys.readouterr().err


def test_qvalues_and_trimming_by_hand():
    from scipy.stats import false_discovery_control

    from regsim.metrics.benchmark.rediscover import bh_qvalues, trim

    p = np.array([[0.01, 0.04, 0.03, 0.5], [0.2, 0.001, 0.9, 0.04]])
    np.testing.assert_allclose(bh_qvalues(p), np.vstack([false_discovery_control(row) for row in p]))
    np.testing.assert_allclose(bh_qvalues(p)[0], [0.04, 0.16 / 3, 0.16 / 3, 0.5])  # 0.03 x 4/2 > 0.04 x 4/3
    cwm = np.zeros((6, 4))
    cwm[1, 0], cwm[2, 1], cwm[4, 3] = 0.2, 1.0, 0.5  # 0.2 < 0.3 x max: trimmed; 0.5 kept
    ppm, trimmed = trim(np.eye(4)[[0, 1, 2, 3, 0, 1]], cwm)
    assert trimmed.shape == (3, 4) and trimmed[0, 1] == 1.0 and trimmed[2, 3] == 0.5
    np.testing.assert_array_equal(ppm, np.eye(4)[[2, 3, 0]])


def test_tomtom_matches_a_pattern_to_its_motif_only():
    from regsim.dataset_builder.motifs import load_motifs
    from regsim.metrics.benchmark.rediscover import Pattern, match_patterns, rediscovery_rows

    database = load_motifs("jaspar:JASPAR2024:ids=MA0035,MA0091,MA0139,MA0143,MA0591,MA0495,MA0114,MA0079,"
                           "MA0080,MA0098,MA0106,MA0108,MA0112,MA0140,MA0148,MA0150,MA0155,MA0160,MA0473,"
                           "MA0478,MA0482,MA0488,MA0490,MA0493,MA0502,MA0506")
    truth = load_motifs("jaspar:JASPAR2024:ids=MA0142")
    oct_sox = np.asarray(truth[0].probabilities)
    rng = np.random.default_rng(0)
    unrelated = rng.dirichlet(np.ones(4) * 0.3, size=12).T
    patterns = [Pattern("pos_patterns.pattern_0", oct_sox[:, ::-1][::-1], oct_sox, 500),  # reverse complement
                Pattern("pos_patterns.pattern_1", unrelated, unrelated, 120)]
    matches = match_patterns(patterns, truth, database)
    assert matches["q"].shape == (2, 1 + len(database)) and matches["n_truth"] == 1
    rows = rediscovery_rows(patterns, matches)
    assert rows[0]["motif_id"] == "MA0142.1" and rows[0]["rediscovered"] == "yes"
    assert rows[0]["pattern"] == "pos_patterns.pattern_0" and rows[0]["q_value"] < 1e-3
    assert [r["pattern"] for r in rows[1:]] == ["pos_patterns.pattern_1"] and rows[1]["motif_id"] == ""


@pytest.mark.slow
def test_motifs_command_rediscovers_a_planted_motif(tmp_path, capsys):
    """modisco-lite on attributions that are exactly the planted motif instances finds the motif."""
    from regsim.dataset_builder.motifs import Motif, write_meme
    from regsim.metrics.benchmark.rediscover import TSV_COLUMNS
    from regsim.models.attribution.attribute import save_npz

    dataset = write_tiny_dataset(tmp_path / "data", n_per_class=400, length=100)
    octamer = np.full((4, len(PLANTED)), 0.01)
    for i, base in enumerate(PLANTED):
        octamer["ACGT".index(base), i] = 0.97
    decoy = np.full((4, 8), 0.01)
    for i, base in enumerate("GGGGCCCC"):
        decoy["ACGT".index(base), i] = 0.97
    write_meme([Motif("TINY.1", "octamer", octamer / octamer.sum(axis=0)),
                Motif("DECOY.1", "decoy", decoy / decoy.sum(axis=0))], dataset / "motifs.meme")
    from regsim.dataset_builder.format import read_dataset

    rows = read_dataset(dataset)["train"]
    X = one_hot_encode(rows["sequence"])
    masks = np.asarray(rows["motif_mask"], dtype=np.float32)
    rng = np.random.default_rng(0)
    # instances of varying strength, for the observed base up and the others down, in noise (modisco-lite
    # finds nothing in noise-free tracks: every seqlet is then equally similar to every other)
    strength = rng.uniform(1, 3, size=(len(X), 1, 1))
    hypothetical = (strength * masks[:, None, :] * (1.5 * X - 0.5) + rng.normal(0, 0.3, X.shape)).astype(np.float32)
    attr = tmp_path / "attr"
    attr.mkdir()
    save_npz(attr / "deepshap__shuffled.npz", attributions=hypothetical * X, hypothetical=hypothetical,
             ids=np.asarray(rows["id"]), sequences=X)
    out = tmp_path / "motifs"
    assert main(["motifs", str(attr / "deepshap__shuffled.npz"), "--dataset", str(dataset), "--out", str(out),
                 "--quiet"]) == 0
    with open(out / "rediscovery.tsv") as handle:
        table = list(csv.reader(handle, delimiter="\t"))
    assert tuple(table[0]) == TSV_COLUMNS
    assert table[1][:3] == ["TINY.1", "octamer", "yes"] and float(table[1][4]) < 0.05
    assert table[2][:3] == ["DECOY.1", "decoy", "no"]
    report = (out / "report.md").read_text()
    assert "**1 of 2 ground-truth motifs rediscovered.**" in report
    assert (out / "logos" / f"{table[1][3]}.png").is_file() and (out / "modisco_results.h5").is_file()
    assert "1 of 2 ground-truth motifs rediscovered" in capsys.readouterr().out


def test_every_command_takes_quiet():
    for name in SUBCOMMANDS:
        parser = build_parser(name)
        sub = next(a for a in parser._actions if a.dest == "command").choices[name]
        assert "--quiet" in sub._option_string_actions, name
