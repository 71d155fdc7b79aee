"""The streaming build: same bytes for every process count and batch size, shards written as rows come,
and peak memory bounded by a batch rather than by the dataset."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from regsim.dataset_builder import format as dataset_format
from regsim.dataset_builder._stream import pack, unpack
from regsim.dataset_builder.build import EMBEDDED, BuildSettings, build_dataset
from regsim.dataset_builder.format import SplitWriter, rows_table, write_split

SMALL_MOTIFS = "jaspar:JASPAR2024:ids=MA0142,MA1962,MA0143,MA0495,MA0591,MA0035,MA0139"


def write_inputs(folder, n):
    """``n`` positives and ``n`` background records: the embedded peaks, repeated under new names."""
    paths = []
    for name, tag in (("oct4_peaks_200bp.fa.gz", "pos"), ("mafk_peaks_200bp.fa.gz", "neg")):
        with gzip.open(EMBEDDED.joinpath(name), "rt") as handle:
            sequences = handle.read().split()[1::2]
        path = folder / f"{tag}.fa"
        path.write_text("".join(f">{tag}{i}\n{sequences[i % len(sequences)]}\n" for i in range(n)))
        paths.append(path)
    return paths


def folder_bytes(folder):
    """Every file's bytes; the manifest without its build time."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "build_manifest.json":
            manifest = json.loads(data)
            manifest.pop("build_time")
            data = json.dumps(manifest, sort_keys=True).encode()
        files[str(path.relative_to(folder))] = data
    return files


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("inputs"), 300)


def build(small_inputs, out, **run):
    pos, neg = small_inputs
    settings = BuildSettings(positives_fasta=str(pos), negatives_fasta=str(neg), motifs=SMALL_MOTIFS, seed=5,
                             min_hits=5, min_enrichment=1.0)
    return build_dataset(out, settings, verbose=False, **run)


def test_byte_identical_for_every_num_proc_and_batch_size(small_inputs, tmp_path, monkeypatch):
    # Small row groups and shards, so that rows of one batch straddle row groups and shards.
    monkeypatch.setattr(dataset_format, "ROWS_PER_ROW_GROUP", 64)
    monkeypatch.setattr(dataset_format, "ONE_ROW_GROUP_MAX", 0)
    monkeypatch.setattr(dataset_format, "ROWS_PER_SHARD", 160)
    outputs = {}
    for num_proc, batch_size in [(1, 1000), (2, 1000), (1, 37), (2, 37)]:
        out = tmp_path / f"p{num_proc}-b{batch_size}"
        build(small_inputs, out, num_proc=num_proc, batch_size=batch_size)
        outputs[num_proc, batch_size] = folder_bytes(out)
    reference = outputs[1, 1000]
    for key, files in outputs.items():
        assert files.keys() == reference.keys(), key
        for name in files:
            assert files[name] == reference[name], (key, name)
    # 600 records -> positives without a hit dropped; train holds > 160 rows: several shards of 160 rows,
    # row groups of 64, named -of- once their number was known.
    train = sorted(n for n in reference if n.startswith("realistic/train-"))
    assert len(train) >= 2 and all(n.endswith(f"-of-{len(train):05d}.parquet") for n in train)
    sizes = [pq.ParquetFile(tmp_path / "p1-b1000" / n).metadata for n in train]
    assert [m.num_rows for m in sizes[:-1]] == [160] * (len(train) - 1)
    assert [sizes[0].row_group(i).num_rows for i in range(sizes[0].num_row_groups)] == [64, 64, 32]
    assert not list((tmp_path / "p1-b1000").rglob("*.partial"))


def test_streamed_rows_equal_a_one_batch_build(small_inputs, tmp_path, monkeypatch):
    whole = build(small_inputs, tmp_path / "whole", num_proc=1, batch_size=10_000)
    monkeypatch.setattr(dataset_format, "ROWS_PER_ROW_GROUP", 50)
    monkeypatch.setattr(dataset_format, "ONE_ROW_GROUP_MAX", 0)
    monkeypatch.setattr(dataset_format, "ROWS_PER_SHARD", 100)
    build(small_inputs, tmp_path / "sharded", num_proc=2, batch_size=29)
    for split, row in whole.split_sizes.items():
        one = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "whole" / "realistic").glob(f"{split}-*"))])
        many = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "sharded" / "realistic").glob(f"{split}-*"))])
        assert len(one) == row["total"] == len(many)
        assert one["id"].tolist() == many["id"].tolist()
        assert one["sequence"].tolist() == many["sequence"].tolist()
        assert [m.tolist() for m in one["motif_mask"]] == [m.tolist() for m in many["motif_mask"]]
        assert [list(m) for m in one["motifs"]] == [list(m) for m in many["motifs"]]


def test_two_bit_packing_round_trips():
    rng = np.random.default_rng(2)
    for length in (1, 4, 7, 400):
        codes = rng.integers(0, 4, size=(5, length)).astype(np.uint8)
        packed = pack(codes)
        assert packed.shape == (5, -(-length // 4))
        np.testing.assert_array_equal(unpack(packed, length), codes)
    assert pack(np.array([[0, 1, 2, 3, 3]], dtype=np.uint8)).tolist() == [[0b11100100, 0b11]]


def test_split_writer_writes_the_bytes_of_write_split(tmp_path):
    rng = np.random.default_rng(0)
    n, length = 50, 30
    codes = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    instances = pd.DataFrame({
        "sequence_index": np.sort(rng.integers(0, n, size=40)),
        "motif_id": [f"MA{k:04d}.1" for k in rng.integers(0, 5, size=40)],
        "motif_name": [f"M{k}" for k in rng.integers(0, 5, size=40)],
        "start": rng.integers(0, 20, size=40), "end": rng.integers(20, 30, size=40),
        "strand": rng.choice(["+", "-"], size=40), "score": rng.normal(size=40), "p_value": rng.uniform(size=40),
        "implanted": rng.uniform(size=40) < 0.5,
    })
    mask = rng.integers(0, 2, size=(n, length)).astype(np.int8)
    ids = [f"pos-{i:06d}" for i in range(n)]
    sources = [f"chr1:{i}-{i + length}" for i in range(n)]
    columns = {"id": ids, "sequence": ["".join("ACGT"[c] for c in row) for row in codes],
               "label": rng.integers(0, 2, size=n).tolist(),
               "motifs": [instances[instances["sequence_index"] == i].drop(columns="sequence_index").to_dict("records")
                          for i in range(n)],
               "motif_mask": [m for m in mask], "source": sources, "backbone": sources[::-1]}
    expected = write_split(tmp_path / "a", "c", "train", columns)
    writer = SplitWriter(tmp_path / "b", "c", "train", at_most=n)
    for lo, hi in [(0, 7), (7, 8), (8, 50)]:  # batches of any size give the same file
        of_batch = instances[(instances["sequence_index"] >= lo) & (instances["sequence_index"] < hi)]
        writer.write(rows_table({
            "id": ids[lo:hi], "sequence": codes[lo:hi], "label": columns["label"][lo:hi],
            "motifs": of_batch.assign(sequence_index=of_batch["sequence_index"] - lo), "motif_mask": mask[lo:hi],
            "source": sources[lo:hi], "backbone": columns["backbone"][lo:hi],
        }))
    got = writer.close()
    assert got["num_examples"] == expected["num_examples"] == n
    assert got["num_bytes"] == expected["num_bytes"]
    assert [p.name for p in got["files"]] == [p.name for p in expected["files"]] == ["train-00000-of-00001.parquet"]
    assert got["files"][0].read_bytes() == expected["files"][0].read_bytes()


PEAK_RSS = textwrap.dedent("""
    import resource, sys
    from regsim.dataset_builder.build import BuildSettings, build_dataset
    pos, neg, out = sys.argv[1:4]
    build_dataset(out, BuildSettings(positives_fasta=pos, negatives_fasta=neg), num_proc=1, batch_size=500,
                  verbose=False)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def test_peak_memory_is_bounded_by_the_batch_not_the_dataset(tmp_path):
    """Default motifs (879) at two sizes, 8x apart. Before streaming the peak grew by 66 % from 2,000 to
    16,000 sequences here (445 -> 739 MiB); streaming, it grows by about 15 %."""
    peaks = {}
    for n in (1_000, 8_000):
        folder = tmp_path / str(n)
        folder.mkdir()
        pos, neg = write_inputs(folder, n)
        done = subprocess.run([sys.executable, "-c", PEAK_RSS, str(pos), str(neg), str(folder / "out")],
                              capture_output=True, text=True, check=True)
        peaks[n] = int(done.stdout.split()[-1]) / 1024  # MiB
    assert peaks[8_000] <= 1.25 * peaks[1_000], peaks
