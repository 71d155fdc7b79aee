"""`regsim build` / `regsim publish` end to end on small inputs, and the embedded default."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml

from regsim.dataset_builder.build import (
    EMBEDDED_NEGATIVES, EMBEDDED_POSITIVES, BuildSettings, build_dataset, embedded_head,
)
from regsim.cli import main
from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.format import FEATURES, read_manifest

OCT4_SOX2 = {"MA0142", "MA1962"}
SMALL_MOTIFS = "jaspar:JASPAR2024:ids=MA0142,MA1962,MA0143,MA0495,MA0591,MA0035,MA0139"


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    return (embedded_head(EMBEDDED_POSITIVES, folder / "pos.fa", 400),
            embedded_head(EMBEDDED_NEGATIVES, folder / "neg.fa", 400))


def small_settings(small_inputs, **changes):
    pos, neg = small_inputs
    settings = dict(positives_fasta=str(pos), negatives_fasta=str(neg), motifs=SMALL_MOTIFS, seed=3,
                    min_hits=5, min_enrichment=1.0)
    settings.update(changes)
    return BuildSettings(**settings)


@pytest.fixture(scope="module")
def small_build(small_inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("builds") / "small"
    build_dataset(out, small_settings(small_inputs), verbose=False)
    return out


def read_card_yaml(folder):
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_folder_layout_and_load_dataset(small_build):
    names = sorted(str(p.relative_to(small_build)) for p in small_build.rglob("*") if p.is_file())
    assert names == ["README.md", "build_manifest.json", "motif_statistics.png", "motifs.meme",
                     "realistic/test-00000-of-00001.parquet", "realistic/train-00000-of-00001.parquet",
                     "realistic/validation-00000-of-00001.parquet", "retained_motifs.tsv"]
    ds = datasets.load_dataset(str(small_build), "realistic")
    assert set(ds) == {"train", "validation", "test"}
    assert ds["train"].features == FEATURES
    header = read_card_yaml(small_build)
    info = header["dataset_info"]
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == {k: len(v) for k, v in ds.items()}
    assert header["configs"][0]["config_name"] == "realistic"
    manifest = read_manifest(small_build)
    assert manifest["dataset_version"] == "1.0.0" and manifest["seed"] == 3
    assert sum(r["total"] for r in manifest["split_sizes"]) == sum(len(v) for v in ds.values())


def test_ground_truth_is_consistent(small_build):
    ds = datasets.load_dataset(str(small_build), "realistic")["train"]
    n_implanted = 0
    for example in ds:
        mask = np.zeros(len(example["sequence"]), dtype=np.int8)
        for instance in example["motifs"]:
            mask[instance["start"] : instance["end"]] = 1
            n_implanted += instance["implanted"]
            assert 0 <= instance["start"] < instance["end"] <= len(example["sequence"])
            assert instance["p_value"] < 1e-4
        np.testing.assert_array_equal(np.array(example["motif_mask"], dtype=np.int8), mask)
        if example["label"] == 1:
            assert any(i["implanted"] for i in example["motifs"])  # positives always carry one
        assert set(example["sequence"]) <= set("ACGT")
    assert n_implanted > 0


def test_positives_carry_real_bases_at_real_coordinates(small_build, small_inputs):
    real = {}
    lines = Path(small_inputs[0]).read_text().splitlines()
    for header, sequence in zip(lines[::2], lines[1::2]):
        real[header[1:]] = sequence.upper()
    ds = datasets.load_dataset(str(small_build), "realistic")["train"]
    checked = 0
    for example in ds.filter(lambda e: e["label"] == 1).select(range(20)):
        original = real[example["source"]]
        for instance in example["motifs"]:
            if instance["implanted"]:
                s, e = instance["start"], instance["end"]
                assert example["sequence"][s:e] == original[s:e]
                checked += 1
    assert checked >= 20


def test_same_seed_gives_byte_identical_files(small_build, small_inputs, tmp_path):
    again = tmp_path / "again"
    build_dataset(again, small_settings(small_inputs), verbose=False)
    for path in small_build.rglob("*"):
        if path.is_file() and path.name != "build_manifest.json":
            assert path.read_bytes() == (again / path.relative_to(small_build)).read_bytes(), path.name
    first = read_manifest(small_build)
    second = read_manifest(again)
    first.pop("build_time"), second.pop("build_time")
    assert first == second


def test_refuses_to_overwrite_and_reports_no_retained_motif(small_build, small_inputs, tmp_path):
    with pytest.raises(UserError, match="already exists; pass --force"):
        build_dataset(small_build, small_settings(small_inputs), verbose=False)
    with pytest.raises(UserError, match="no motif retained"):
        build_dataset(tmp_path / "none", small_settings(small_inputs, min_enrichment=1000.0), verbose=False)
    assert not (tmp_path / "none").exists()
    assert not any(p.name.startswith(".none.building") for p in tmp_path.iterdir())


def test_chromosome_hold_out(small_inputs, tmp_path):
    out = tmp_path / "by-chrom"
    build_dataset(out, small_settings(small_inputs, validation_chroms=("chr2",), test_chroms=("chr1", "chr3")),
                  verbose=False)
    ds = datasets.load_dataset(str(out), "realistic")
    chrom = lambda region: region.split(":")[0]  # noqa: E731
    assert {chrom(s) for s in ds["test"]["source"]} == {"chr1", "chr3"}
    assert {chrom(s) for s in ds["validation"]["source"]} == {"chr2"}
    assert not {chrom(s) for s in ds["train"]["source"]} & {"chr1", "chr2", "chr3"}
    # backbones come from positives of the same split
    assert {chrom(b) for b in ds["test"]["backbone"]} <= {"chr1", "chr3"}


def test_simple_mode_preset_design(tmp_path):
    out = tmp_path / "simple"
    build_dataset(out, BuildSettings(mode="simple", n_per_class=60, seed=1), verbose=False)
    ds = datasets.load_dataset(str(out), "simple")
    rows = datasets.concatenate_datasets([ds[s] for s in ds])
    assert len(rows) == 120 and sum(rows["label"]) == 60
    assert len(rows[0]["sequence"]) == 200
    for example in rows:
        implanted = {(i["motif_name"]) for i in example["motifs"] if i["implanted"]}
        if example["label"] == 1:
            assert implanted == {"GATA1", "TAL1::TCF3"}
        else:
            assert len(implanted) <= 1
    gc = np.mean([(s.count("G") + s.count("C")) / len(s) for s in rows["sequence"]])
    assert abs(gc - 0.4) < 0.02


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "regsim", *args], capture_output=True, text=True)


def test_cli_user_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.narrowPeak"
    bad.write_text("chr1\t10\t20\n")
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\n" + "ACGT" * 20 + "\n")
    result = run_cli("build", "--out", str(tmp_path / "o"), "--genome", str(genome), "--positives", str(bad),
                     "--background", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "bad.narrowPeak:1: a narrowPeak line needs 10 tab-separated columns" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("build", "--out", str(tmp_path / "o"), "--motifs", str(tmp_path / "missing.meme"))
    assert result.returncode == 2 and "missing.meme" in result.stderr


def test_publish_dry_run_lists_files_and_tag(small_build, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["publish", str(small_build), "--repo-id", "someorg/regsim-small", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "target: https://huggingface.co/datasets/someorg/regsim-small (dataset repository" in out
    assert "tag: v1.0.0" in out
    manifest = read_manifest(small_build)
    lines = out.splitlines()
    from regsim.dataset_builder.publish import plan_publish

    plan = plan_publish(small_build, "someorg/regsim-small")
    card = next(f["data"] for f in plan.files if f["path"] == "README.md")
    per_config = ("motifs.meme", "retained_motifs.tsv", "motif_statistics.png", "build_manifest.json")
    for name, digest in [*manifest["outputs"].items(), ("build_manifest.json", None)]:
        in_repo = f"realistic/{name}" if name in per_config else name
        line = next(line for line in lines if line.endswith(f"  {in_repo}"))
        content = card if name == "README.md" else (small_build / name).read_bytes()  # the card as uploaded
        assert line.split()[0] == hashlib.sha256(content).hexdigest() and int(line.split()[1].replace(",", "")) == len(content)
        if digest is not None and name != "README.md":
            assert digest == line.split()[0]
    assert f"{len(manifest['outputs']) + 1} files" in out
    assert b'load_dataset("someorg/regsim-small", "realistic")' in card and b"ORG/" not in card


def test_publish_merges_configurations(small_build, small_inputs, tmp_path):
    """A second configuration published into the same repository keeps the first: per-config motif
    files, every configuration in the card, and both load with load_dataset."""
    from regsim.dataset_builder.publish import plan_publish

    second = tmp_path / "second"
    build_dataset(second, small_settings(small_inputs, config_name="other", max_motifs=2, seed=4), verbose=False)
    repo = tmp_path / "repo"  # what the Hub repository holds after each upload

    def upload(plan):
        for f in plan.files:
            (repo / f["path"]).parent.mkdir(parents=True, exist_ok=True)
            (repo / f["path"]).write_bytes(f["data"] if "data" in f else (plan.folder / f["path"]).read_bytes())

    upload(plan_publish(small_build, "me/sims"))
    first_card = (repo / "README.md").read_text()
    upload(plan_publish(second, "me/sims", existing_card=first_card))
    merged = (repo / "README.md").read_text()
    header = yaml.safe_load(merged.split("---\n")[1])
    assert [c["config_name"] for c in header["configs"]] == ["realistic", "other"]
    assert [c["default"] for c in header["configs"]] == [True, False]
    assert [i["config_name"] for i in header["dataset_info"]] == ["realistic", "other"]
    assert (repo / "realistic/motifs.meme").read_bytes() == (small_build / "motifs.meme").read_bytes()
    assert (repo / "other/motifs.meme").read_bytes() == (second / "motifs.meme").read_bytes()
    assert not (repo / "motifs.meme").exists()
    assert 'load_dataset("me/sims", "realistic")' in merged and 'load_dataset("me/sims", "other")' in merged
    assert "](realistic/motif_statistics.png)" in merged and "](other/motif_statistics.png)" in merged
    for config, folder in (("realistic", small_build), ("other", second)):
        loaded = datasets.load_dataset(str(repo), config, cache_dir=str(tmp_path / f"cache-{config}"))
        expected = json.loads((folder / "build_manifest.json").read_text())["split_sizes"]
        assert {s: len(loaded[s]) for s in loaded} == {r["split"]: r["total"] for r in expected}
    # publishing a configuration again replaces its section and keeps the other: the same card
    again = next(f["data"] for f in plan_publish(small_build, "me/sims", existing_card=merged).files
                 if f["path"] == "README.md").decode()
    assert again == merged


def test_card_cites_jaspar_and_the_embedded_data_without_developer_notes(small_build):
    from regsim.dataset_builder.build import _embedded_provenance
    from regsim.dataset_builder.dataset_card import citations

    card = (small_build / "README.md").read_text()
    assert "10.1093/nar/gkad1059" in card and "{JASPAR} 2024" in card  # the motifs came from JASPAR
    assert "Janggu" not in card  # not built from the embedded peaks
    provenance = _embedded_provenance()
    assert "GPL-3.0" in provenance and "janggu==0.10.2" in provenance
    assert "developers" not in provenance and "fresh checkout" not in provenance
    assert "10.1038/s41467-020-17155-y" in citations("jaspar:JASPAR2024:CORE:vertebrates", embedded=True)
    assert "gkad1059" not in citations("motifs.meme", embedded=False)


def test_publish_detects_changed_files(small_build, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small_build, copy)
    (copy / "retained_motifs.tsv").write_text("edited\n")
    assert main(["publish", str(copy), "--repo-id", "someorg/x", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "retained_motifs.tsv: sha256" in err and "changed since the build" in err


@pytest.mark.slow
def test_embedded_default_ranks_oct4_sox2_in_top3(tmp_path):
    out = tmp_path / "default"
    result = build_dataset(out, BuildSettings(), verbose=False)
    tsv = (out / "retained_motifs.tsv").read_text().splitlines()
    retained = [line.split("\t") for line in tsv[1:] if line.endswith("\tyes")]
    top3 = {row[0].split(".")[0] for row in retained[:3]}
    assert top3 & OCT4_SOX2, retained[:5]
    assert sum(row["total"] for row in result.split_sizes.values()) > 6000
