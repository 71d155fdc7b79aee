"""Faults and bad input, as a new user meets them: nothing lost, one line, exit status 2, a cache that heals.

Every bad input here must end in exactly one line on stderr naming the file, flag or record and exit
status 2 (no traceback); every fault must leave the previous output intact and the next run working.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from regsim.cli import main
from regsim.dataset_builder.build import EMBEDDED_NEGATIVES, EMBEDDED_POSITIVES, embedded_head
from tiny_data import write_tiny_dataset

MOTIFS = "jaspar:JASPAR2024:ids=MA0142,MA1962,MA0143"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fault-inputs")
    return (embedded_head(EMBEDDED_POSITIVES, folder / "pos.fa", 150),
            embedded_head(EMBEDDED_NEGATIVES, folder / "neg.fa", 150))


def build_args(inputs, out, *extra):
    pos, neg = inputs
    return ["build", "--out", str(out), "--positives-fasta", str(pos), "--negatives-fasta", str(neg),
            "--motifs", MOTIFS, "--min-hits", "2", "--min-enrichment", "1.0", "--quiet", *extra]


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("fault-build") / "ds"
    assert main(build_args(inputs, out)) == 0
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("fault-tiny")
    dataset = write_tiny_dataset(root / "data")
    assert main(["train", "--dataset", str(dataset), "--arch", "tiny", "--epochs", "1", "--out",
                 str(root / "model")]) == 0
    return dataset, root / "model"


def one_line_error(capsys, status, *args, contains=()):
    """Run the command; assert exit 2 (or ``status``), one stderr line, no traceback, and its contents."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == status, err
    assert len(err) == 1 and "Traceback" not in err[0], err
    for text in contains:
        assert text in err[0], err[0]
    return err[0]


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- --force never deletes what regsim did not write -------------------------------------------------

def test_force_refuses_current_folder_parents_and_foreign_folders(inputs, tmp_path, monkeypatch, capsys):
    work = tmp_path / "project" / "work"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    (tmp_path / "project" / "keep.txt").write_text("mine too")
    monkeypatch.chdir(work)
    one_line_error(capsys, 2, *build_args(inputs, ".", "--force"), contains=("current folder",))
    one_line_error(capsys, 2, *build_args(inputs, "..", "--force"), contains=("parent of the current folder",))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    one_line_error(capsys, 2, *build_args(inputs, foreign, "--force"), contains=("not a regsim dataset folder",))
    (tmp_path / "a-file").write_text("x")
    one_line_error(capsys, 2, *build_args(inputs, tmp_path / "a-file", "--force"), contains=("not a folder",))
    dataset = write_tiny_dataset(tmp_path / "tiny")
    one_line_error(capsys, 2, "train", "--dataset", dataset, "--arch", "tiny", "--out", ".", "--force",
                   contains=("current folder",))
    one_line_error(capsys, 2, "train", "--dataset", dataset, "--arch", "tiny", "--out", foreign, "--force",
                   contains=("not a regsim model folder",))
    assert (work / "notes.txt").read_text() == "mine" and (tmp_path / "project" / "keep.txt").exists()
    assert (foreign / "thesis.tex").read_text() == "years of work" and (tmp_path / "a-file").read_text() == "x"


def test_force_replaces_a_regsim_dataset_only_when_the_new_one_is_complete(inputs, built, tmp_path, capsys, monkeypatch):
    out = tmp_path / "ds"
    shutil.copytree(built, out)
    before = snapshot(out)
    import regsim.dataset_builder.build as build_module

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", str(out))

    monkeypatch.setattr(build_module, "_write_card_and_manifest", broken)
    one_line_error(capsys, 2, *build_args(inputs, out, "--force"), contains=("No space left on device",))
    assert snapshot(out) == before  # the old dataset survived the failed replacement
    monkeypatch.undo()
    assert main(build_args(inputs, out, "--force", "--seed", "5")) == 0
    assert json.loads((out / "build_manifest.json").read_text())["seed"] == 5
    assert not list(tmp_path.glob(".ds*"))  # no staging folder or lock file left behind


def test_stale_staging_folders_of_a_killed_build_are_removed(inputs, tmp_path):
    stale = tmp_path / ".ds.regsim-staging-abc123"
    stale.mkdir()
    (stale / "half.parquet").write_bytes(b"PAR1")
    assert main(build_args(inputs, tmp_path / "ds")) == 0
    assert not stale.exists() and (tmp_path / "ds" / "build_manifest.json").is_file()


def test_two_concurrent_builds_into_one_out_exactly_one_succeeds(inputs, tmp_path):
    out = tmp_path / "race"
    command = [sys.executable, "-m", "regsim", *build_args(inputs, out)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.wait(timeout=600), run.stderr.read()) for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert len(loser.strip().splitlines()) == 1 and ("another regsim run" in loser or "already exists" in loser)
    from regsim.dataset_builder.format import read_manifest, verify_outputs

    verify_outputs(out, read_manifest(out))  # the survivor is complete


# --- bad input: one line, exit 2 ------------------------------------------------------------------------

def test_bad_build_inputs(inputs, tmp_path, capsys):
    pos, neg = inputs
    out = tmp_path / "o"
    for width in ("0", "-5"):
        one_line_error(capsys, 2, *build_args(inputs, out, "--width", width), contains=("--width",))
        one_line_error(capsys, 2, "build", "--out", out, "--genome", pos, "--positives", pos, "--background",
                       pos, "--width", width, contains=("--width",))
    binary = tmp_path / "binary.fa"
    binary.write_bytes(b">x\nACGT\x00\x01\x02\n")
    one_line_error(capsys, 2, "build", "--out", out, "--positives-fasta", binary, "--negatives-fasta", neg,
                   contains=("binary.fa:2", "binary"))
    latin = tmp_path / "latin.fa"
    latin.write_bytes(b">x\nAC\xe9GT\n")
    one_line_error(capsys, 2, "build", "--out", out, "--positives-fasta", latin, "--negatives-fasta", neg,
                   contains=("latin.fa:2",))
    one_line_error(capsys, 2, "build", "--out", out, "--positives-fasta", tmp_path, "--negatives-fasta", neg,
                   contains=("is a folder",))
    fake_gz = tmp_path / "plain.fa.gz"
    fake_gz.write_text(">x\nACGT\n")
    one_line_error(capsys, 2, "build", "--out", out, "--positives-fasta", fake_gz, "--negatives-fasta", neg,
                   contains=("not gzip-compressed",))
    one_line_error(capsys, 2, *build_args(inputs, out, "--max-motifs", "-3"), contains=("--max-motifs must be >= 0",))
    one_line_error(capsys, 2, "build", "--out", out, "--positives-fasta", pos, "--negatives-fasta", neg,
                   "--motifs", "jaspar:JASPAR2024:ids=", contains=("ids= lists nothing",))
    motif_file = tmp_path / "motifs.meme"
    motif_file.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF M1 Ñandú\nletter-probability matrix: "
                          "alength= 4 w= 2\n0.7 0.1 0.1 0.1\n0.1 0.1 0.1 0.7\n", encoding="utf-8")
    one_line_error(capsys, 2, "build", "--out", out, "--positives-fasta", pos, "--negatives-fasta", neg,
                   "--motifs", motif_file, contains=("non-ASCII",))
    one_line_error(capsys, 2, *build_args(inputs, out, "--test-chroms", "chrNope"), contains=("chrNope",))
    assert not out.exists()


def test_gzip_content_is_read_whatever_the_name(inputs, tmp_path):
    pos, neg = inputs
    gz_named_fa = tmp_path / "pos-compressed.fa"
    gz_named_fa.write_bytes(gzip.compress(pos.read_bytes(), mtime=0))
    assert main(build_args((gz_named_fa, neg), tmp_path / "a")) == 0
    assert main(build_args((pos, neg), tmp_path / "b")) == 0
    for shard in (tmp_path / "a").rglob("*.parquet"):
        assert shard.read_bytes() == (tmp_path / "b" / shard.relative_to(tmp_path / "a")).read_bytes()


def test_repeated_headers_with_different_sequences_are_kept(inputs, tmp_path):
    from regsim.dataset_builder.inputs import read_sequence_sets

    pos, neg = inputs
    records = pos.read_text().splitlines()
    renamed = tmp_path / "same-names.fa"
    renamed.write_text("".join(f">same\n{line}\n" for line in records[1::2]) + f">same\n{records[1]}\n")
    positives, _ = read_sequence_sets(renamed, neg)
    assert len(positives) == len(records) // 2  # only the one identical (header, sequence) pair dropped
    assert positives.dropped["duplicate_record"] == 1


def test_bad_train_and_attribute_inputs(tiny, tmp_path, capsys, monkeypatch):
    dataset, model = tiny
    out = tmp_path / "m"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    one_line_error(capsys, 2, "train", "--dataset", "some-org/some-data", "--arch", "tiny", "--out", out,
                   contains=("some-org/some-data", "offline"))
    not_data = tmp_path / "not-data"
    not_data.mkdir()
    (not_data / "x.txt").write_text("x")
    one_line_error(capsys, 2, "train", "--dataset", not_data, "--arch", "tiny", "--out", out,
                   contains=("not a dataset folder",))
    for device in ("bogus", "cuda:7"):
        one_line_error(capsys, 2, "train", "--dataset", dataset, "--arch", "tiny", "--out", out, "--device", device,
                       contains=("--device",))
    garbled = tmp_path / "garbled"
    shutil.copytree(dataset, garbled)
    (garbled / "build_manifest.json").write_text("[1, 2]")
    one_line_error(capsys, 2, "train", "--dataset", garbled, "--arch", "tiny", "--out", out,
                   contains=("build_manifest.json", "JSON object"))
    (garbled / "build_manifest.json").write_text((dataset / "build_manifest.json").read_text())
    (garbled / "README.md").write_text("---\nconfigs: [unclosed\n---\n")
    one_line_error(capsys, 2, "train", "--dataset", garbled, "--arch", "tiny", "--out", out, contains=("garbled",))
    assert not out.exists()

    attr = ["attribute", "--model", model, "--dataset", dataset, "--methods", "grad_x_input", "--limit", "2"]
    (tmp_path / "file").write_text("x")
    one_line_error(capsys, 2, *attr, "--out", tmp_path / "file", contains=("is a file",))
    one_line_error(capsys, 2, *attr, "--out", tmp_path / "a", "--device", "cuda", contains=("--device cuda",))
    bad_summary = tmp_path / "attr"
    bad_summary.mkdir()
    (bad_summary / "summary.json").write_text("{not json")
    one_line_error(capsys, 2, *attr, "--out", bad_summary, contains=("summary.json",))
    wide = write_tiny_dataset(tmp_path / "wide", length=80)
    one_line_error(capsys, 2, "attribute", "--model", model, "--dataset", wide, "--methods", "grad_x_input",
                   "--out", tmp_path / "b", contains=("50-bp", "80-bp"))
    truncated = tmp_path / "truncated"
    shutil.copytree(model, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    one_line_error(capsys, 2, *attr[:2], truncated, *attr[3:], "--out", tmp_path / "c",
                   contains=("cannot load the model",))


def test_bad_benchmark_and_publish_inputs(built, tiny, tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    one_line_error(capsys, 2, "benchmark", "--quick", "--out", tmp_path / "file", contains=("is a file",))
    one_line_error(capsys, 2, "benchmark", "--quick", "--out", tmp_path / "r", "--n-top", "0", contains=("--n-top",))

    copy = tmp_path / "ds"
    shutil.copytree(built, copy)
    publish = ["publish", copy, "--repo-id", "org/name", "--dry-run"]
    shard = next(copy.rglob("*.parquet"))
    shard.rename(tmp_path / "moved.parquet")
    one_line_error(capsys, 2, *publish, contains=(shard.name, "missing"))
    (tmp_path / "moved.parquet").rename(shard)
    (copy / "secrets.txt").write_text("do not upload")
    (copy / "link").symlink_to("/etc/hostname")
    assert main([str(a) for a in publish]) == 0
    printed = capsys.readouterr().out
    assert "not uploaded: link, secrets.txt" in printed
    assert not any(line.endswith(("  secrets.txt", "  link")) for line in printed.splitlines())
    (copy / "link").unlink()
    motifs = copy / "motifs.meme"
    motifs.unlink()
    motifs.symlink_to(built / "motifs.meme")  # same bytes, but a link
    one_line_error(capsys, 2, *publish, contains=("symbolic link",))
    motifs.unlink()
    shutil.copy(built / "motifs.meme", motifs)
    one_line_error(capsys, 2, "publish", copy, "--repo-id", "org/na me", "--dry-run", contains=("--repo-id",))
    one_line_error(capsys, 2, "publish", copy, "--repo-id", "just-a-name", "--dry-run", contains=("ORG/NAME",))

    import huggingface_hub

    class Offline:
        def __init__(self, token=None):
            pass

        def create_repo(self, *args, **kwargs):
            raise ConnectionError("Failed to resolve 'huggingface.co'\nsecond line")

    monkeypatch.setattr(huggingface_hub, "HfApi", Offline)
    _, model = tiny
    one_line_error(capsys, 2, "push-model", model, "--repo-id", "org/model", contains=("ConnectionError",))
    one_line_error(capsys, 2, "push-model", model, "--repo-id", "org/model", "--version", "1..0",
                   contains=("valid tag",))


def test_an_internal_error_says_it_is_a_bug_and_traces_only_when_verbose(tiny, tmp_path, capsys, monkeypatch):
    import regsim.models.train as train_module

    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(train_module, "_fit", bug)
    dataset, _ = tiny
    line = one_line_error(capsys, 1, "train", "--dataset", dataset, "--arch", "tiny", "--out", tmp_path / "m")
    assert "bug in regsim" in line and "ZeroDivisionError" in line and "--verbose" in line
    assert main(["train", "--dataset", str(dataset), "--arch", "tiny", "--out", str(tmp_path / "m"), "--verbose"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_training_log_holds_no_absolute_paths(tiny):
    _, model = tiny
    for name in ("training_log.json", "config.json", "README.md"):
        assert str(Path.cwd()) not in (model / name).read_text() and "/tmp/" not in (model / name).read_text()


def test_genome_in_a_read_only_folder_indexes_into_the_cache(tmp_path, monkeypatch):
    from regsim.dataset_builder import inputs as inputs_module

    genome = tmp_path / "genome" / "g.fa"
    genome.parent.mkdir()
    genome.write_text(">chr1\n" + "ACGT" * 100 + "\n")
    peaks = tmp_path / "peaks.bed"
    peaks.write_text("chr1\t100\t140\n")
    background = tmp_path / "bg.bed"
    background.write_text("chr1\t300\t340\n")
    real_access = os.access
    monkeypatch.setattr(inputs_module.os, "access", lambda path, mode: False if Path(path) == genome.parent
                        else real_access(path, mode))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    positives, _ = inputs_module.read_peak_windows(genome, peaks, background, width=20)
    assert positives.sequences == [("ACGT" * 100)[110:130]]
    assert not Path(f"{genome}.fai").exists() and list((tmp_path / "cache" / "regsim" / "fai").glob("g.fa.*.fai"))


# --- the benchmark's cache heals ------------------------------------------------------------------------

@pytest.mark.slow
def test_damaged_cache_entries_are_recomputed_not_trusted(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["benchmark", "--quick", "--no-simple", "--archs", "beluga", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    import pandas as pd

    results = pd.read_csv(out / "results.csv").drop(columns="seconds")
    cache = out / "cache"
    scores = next((cache / "scores").glob("*.json"))
    scores.write_text(scores.read_text().replace("0.", "9.", 1))  # edited, still valid JSON
    npz = next((cache / "attributions").glob("*.npz"))
    npz.write_bytes(npz.read_bytes()[:50])  # truncated
    weights = next((cache / "models").glob("*/model.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-10])
    parquet = next((cache / "datasets").rglob("*.parquet"))
    parquet.write_bytes(parquet.read_bytes()[:-10])
    assert main(["benchmark", "--quick", "--no-simple", "--archs", "beluga", "--out", str(out)]) == 0
    log = capsys.readouterr().out
    for damaged in (scores, npz, weights.parent, parquet.parents[1]):
        assert f"{damaged.name}: checksum mismatch" in log, damaged
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv").drop(columns="seconds"), results)


def test_missing_out_parent_on_another_filesystem_than_tmpdir(inputs, tmp_path, monkeypatch):
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        monkeypatch.setenv("TMPDIR", str(shm))  # a tmpfs: another filesystem than tmp_path's
    out = tmp_path / "new" / "nested" / "ds"
    assert main(build_args(inputs, out)) == 0
    assert (out / "build_manifest.json").is_file()


def test_read_only_destination_is_one_line(inputs, tmp_path, capsys, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):  # root ignores permission bits, so the refusal is simulated
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    one_line_error(capsys, 2, *build_args(inputs, tmp_path / "ds"), contains=("Permission denied",))


# --- the metric: a bad call never poisons the instance ----------------------------------------------------

def test_metric_refuses_bad_examples_and_stays_usable():
    import evaluate

    from regsim.metrics import METRIC_PATH, MotifAttributionInputError, score_attributions

    metric = evaluate.load(METRIC_PATH)
    good = dict(predictions=[[0.1, 0.9, 0.8, 0.2, 0.0], [0.3, 0.3, 0.3, 0.3, 0.3]],
                references=[[0, 1, 1, 0, 0], [0, 0, 1, 1, 0]])
    bad_calls = [
        (dict(predictions=[[0.1, 0.2], []], references=[[0, 1], [0, 1]]), "example 1: predictions are empty"),
        (dict(predictions=[[[], [], [], []]], references=[[]]), "example 0: predictions are empty"),
        (dict(predictions=[[0.1, 0.2], [0.3, [0.4]]], references=[[0, 1], [0, 1]]), "example 1: predictions is ragged"),
        (dict(predictions=[[0.1, 0.2]], references=[[]]), "example 0: references are empty"),
        (dict(predictions=[], references=[]), "no examples"),
    ]
    for call, message in bad_calls:
        with pytest.raises(ValueError, match=message):
            metric.compute(**call)
        assert metric.compute(**good)["auroc_mean"] == pytest.approx(0.75)  # the card's example, still right
    with pytest.raises(ValueError, match="example 0: predictions are empty"):
        metric.add_batch(predictions=[[]], references=[[]])
    metric.add_batch(**good)
    assert metric.compute()["auprc_mean"] == pytest.approx(0.7)
    with pytest.raises(MotifAttributionInputError, match="example 0: predictions are empty"):
        score_attributions([[]], [[]])
    with pytest.raises(MotifAttributionInputError, match="no examples to score"):
        score_attributions([], [])
