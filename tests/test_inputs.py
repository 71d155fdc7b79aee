"""Input readers: windows from genome + peaks (mode A), sequence sets (mode B), validation, GC matching."""

import gzip

import numpy as np
import pytest

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.inputs import gc_matched_subsample, read_peak_windows, read_peaks, read_sequence_sets

CHR1 = "ACGTACGTTTGGCCAAacgtacgtNNACGTAAACCCGGGTTTACGTACGTACGATCGATCGA"  # 60 bp, soft-masked + N
CHR2 = "GGGGCCCCAAAATTTTGGGGCCCCAAAATTTT"  # 32 bp


@pytest.fixture
def genome(tmp_path):
    path = tmp_path / "genome.fa"
    path.write_text(f">chr1\n{CHR1[:30]}\n{CHR1[30:]}\n>chr2\n{CHR2}\n")
    return path


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def narrowpeak(chrom, start, end, summit):
    return "\t".join([chrom, str(start), str(end), "p", "0", ".", "1", "1", "1", str(summit)])


def test_windows_centre_on_summit_and_midpoint(genome, tmp_path):
    positives = write(tmp_path / "pos.narrowPeak", [narrowpeak("chr1", 0, 20, 5), narrowpeak("chr2", 4, 30, 10)])
    background = write(tmp_path / "bg.bed", ["chr1\t40\t50", "chr2\t0\t8"])
    pos, bg = read_peak_windows(genome, positives, background, width=10)
    # summit chr1 0+5 -> [0, 10); summit chr2 4+10=14 -> [9, 19)
    assert pos.sources == ["chr1:0-10", "chr2:9-19"]
    assert pos.sequences == [CHR1[0:10], CHR2[9:19]]
    # background midpoints 45 -> [40, 50) on chr1; 4 -> [-1, 9) is off the edge
    assert bg.sources == ["chr1:40-50"]
    assert bg.sequences == [CHR1[40:50].upper()]
    assert bg.dropped["off_chromosome_edge"] == 1


def test_soft_mask_upper_cased_and_non_acgt_dropped(genome, tmp_path):
    positives = write(tmp_path / "pos.bed", ["chr1\t16\t24", "chr1\t22\t30"])  # 2nd covers the NN at 24-26
    background = write(tmp_path / "bg.bed", ["chr2\t0\t8"])
    pos, _ = read_peak_windows(genome, positives, background, width=8)
    assert pos.sequences == ["ACGTACGT"]  # from 'acgtacgt'
    assert pos.dropped["non_acgt_bases"] == 1


def test_background_overlapping_positive_is_removed(genome, tmp_path):
    positives = write(tmp_path / "pos.bed", ["chr1\t0\t10"])
    background = write(tmp_path / "bg.bed", ["chr1\t8\t18", "chr1\t30\t40", "chr2\t10\t20"])
    _, bg = read_peak_windows(genome, positives, background, width=10)
    assert bg.sources == ["chr1:30-40", "chr2:10-20"]
    assert bg.dropped["overlaps_positive"] == 1


@pytest.mark.parametrize(
    "line, message",
    [
        ("chr1\t10", "expected at least 3 tab-separated columns"),
        ("chr1\tten\t20", "field start (column 2) is not an integer: 'ten'"),
        ("chr1\t20\t10", "need 0 <= start < end"),
        (narrowpeak("chr1", 10, 20, 15), "summit offset 15 lies outside its peak"),
    ],
)
def test_bad_peak_lines_name_file_and_line(tmp_path, line, message):
    is_narrow = "\tp\t" in line
    path = write(tmp_path / ("peaks.narrowPeak" if is_narrow else "peaks.bed"),
                 ["track name=x", narrowpeak("chr1", 0, 5, 2) if is_narrow else "chr1\t0\t5", line])
    with pytest.raises(UserError) as error:
        read_peaks(path)
    assert f"{path}:3:" in str(error.value) and message in str(error.value)


def test_narrowpeak_with_too_few_columns(tmp_path):
    path = write(tmp_path / "x.narrowPeak", ["chr1\t0\t10\tname\t0\t."])
    with pytest.raises(UserError, match=r"x.narrowPeak:1: a narrowPeak line needs 10 tab-separated columns, found 6"):
        read_peaks(path)


def test_missing_chromosome_and_empty_input(genome, tmp_path):
    positives = write(tmp_path / "pos.bed", ["chr1\t0\t10", "chrX\t0\t10"])
    background = write(tmp_path / "bg.bed", ["chr1\t30\t40"])
    with pytest.raises(UserError, match=r"pos.bed:2: chromosome 'chrX' is not in the genome FASTA"):
        read_peak_windows(genome, positives, background, width=10)
    empty = write(tmp_path / "empty.bed", [])
    with pytest.raises(UserError, match=r"empty.bed: no peaks found \(empty input\)"):
        read_peaks(empty)


def test_sequence_sets_crop_parse_coordinates_and_count(tmp_path):
    pos = tmp_path / "pos.fa.gz"
    with gzip.open(pos, "wt") as handle:
        handle.write(">chr3:100-110\nacgtACGTAA\n>other header\nACGTNCGTAA\n>chr3:100-110\nACGTACGTAA\n")
    neg = write(tmp_path / "neg.fa", [">n1", "TTTTACGTACGTTT"])  # 14 bp, centre-cropped to 10
    positives, negatives = read_sequence_sets(pos, neg, width=10)
    assert positives.sequences == ["ACGTACGTAA"]
    assert positives.chroms == ["chr3"]
    assert positives.dropped == {"non_acgt_bases": 1, "duplicate_record": 1}
    assert negatives.sequences == ["TTACGTACGT"]
    assert negatives.dropped["cropped_to_width"] == 1


def test_sequence_sets_length_mismatch_names_record(tmp_path):
    pos = write(tmp_path / "pos.fa", [">a", "ACGT", ">b", "ACG"])
    neg = write(tmp_path / "neg.fa", [">c", "ACGT"])
    with pytest.raises(UserError, match=r"pos.fa: record 2 \(b\) has length 3"):
        read_sequence_sets(pos, neg)
    with pytest.raises(UserError, match=r"no FASTA records found"):
        read_sequence_sets(write(tmp_path / "e.fa", []), neg)


def test_gc_matching_follows_positive_distribution(tmp_path):
    rng = np.random.default_rng(0)

    def seqs(n, gc):
        return [">s%d\n%s" % (i, "".join(rng.choice(list("ACGT"), 100, p=[(1 - g) / 2, g / 2, g / 2, (1 - g) / 2])))
                for i, g in enumerate(rng.choice(gc, n))]

    pos = write(tmp_path / "p.fa", seqs(300, [0.5]))
    neg = write(tmp_path / "n.fa", seqs(600, [0.3, 0.5, 0.7]))
    positives, background = read_sequence_sets(pos, neg)
    matched = gc_matched_subsample(positives, background, random_state=1)
    gc = lambda regions: np.array([(s.count("G") + s.count("C")) / len(s) for s in regions.sequences])  # noqa: E731
    assert abs(np.median(gc(matched)) - np.median(gc(positives))) < 0.03
    assert matched.dropped["gc_matching"] == len(background) - len(matched)
    assert len(matched) > 100
