"""Read the real regions a dataset is built from.

Two input modes give the same result, a pair of :class:`Regions` (positives and background):

* mode A, genome + peaks (:func:`read_peak_windows`): a genome FASTA (read with pyfaidx) and two
  narrowPeak/BED files. Each peak gives one window of ``width`` bases centred on its narrowPeak summit
  (BED: on its midpoint); background windows that overlap any positive window are removed, as
  ``bedtools intersect -v`` (through pybedtools).
* mode B, sequence sets (:func:`read_sequence_sets`): a positives and a negatives FASTA of equal-length
  sequences (gzip allowed). Headers such as ``chr1:100-300`` are parsed as coordinates.

Soft-masked (lower-case) bases are upper-cased. Windows off a chromosome edge, windows holding a base
other than A, C, G, T, and exact duplicate windows are dropped; every drop is counted in
``Regions.dropped`` so that the command line and the dataset card can report it.
"""

from __future__ import annotations

import gzip
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core.errors import UserError
from .core.io import sha256_bytes
from .core.sequences import encode_integers, gc_fraction

_COORDINATE_HEADER = re.compile(r"^(?P<chrom>[^\s:]+):(?P<start>\d+)-(?P<end>\d+)")


@dataclass
class Regions:
    """Equal-length real sequences with their provenance.

    Attributes
    ----------
    sequences : list of str
        Upper-case sequences, all of length ``width``.
    sources : list of str
        Where each came from: ``chrom:start-end`` (0-based half-open) or the FASTA header.
    chroms : list of str or None
        Chromosome of each sequence where coordinates are known, else None.
    path : Path
        The file the records were read from.
    dropped : Counter
        Records left out, by reason.
    """

    sequences: list[str]
    sources: list[str]
    chroms: list[str | None]
    path: Path
    dropped: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def width(self) -> int:
        return len(self.sequences[0]) if self.sequences else 0

    def subset(self, keep: np.ndarray) -> "Regions":
        keep = np.flatnonzero(np.asarray(keep)) if np.asarray(keep).dtype == bool else np.asarray(keep)
        return Regions(
            sequences=[self.sequences[i] for i in keep],
            sources=[self.sources[i] for i in keep],
            chroms=[self.chroms[i] for i in keep],
            path=self.path,
            dropped=Counter(self.dropped),
        )


@dataclass(frozen=True)
class Peak:
    chrom: str
    start: int
    end: int
    summit: int  # absolute 0-based position of the summit (BED: midpoint)
    line: int  # 1-based line number in its file


def _open_text(path: Path):
    """A binary stream of ``path``, gzip-compressed or not (decided by its content, not its name)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give a file")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(2)
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror})") from None
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if path.suffix == ".gz":
        raise UserError(f"{path}: named .gz but not gzip-compressed")
    return open(path, "rb")


def _text_lines(path: Path):
    """``(line number, line)`` of a text file; binary or non-ASCII content is a :class:`UserError`."""
    line_number = 0
    try:
        with _open_text(path) as handle:
            for line_number, raw in enumerate(handle, start=1):
                if b"\x00" in raw:
                    raise UserError(f"{path}:{line_number}: binary content (a NUL byte); give a text file")
                try:
                    line = raw.decode("ascii").rstrip("\r\n") + "\n"  # universal newlines, as text mode
                except UnicodeDecodeError:
                    raise UserError(f"{path}:{line_number}: not ASCII text (binary, or another encoding)") from None
                yield line_number, line
    except (gzip.BadGzipFile, EOFError, OSError) as error:
        raise UserError(f"{path}: unreadable gzip stream near line {line_number + 1} ({error})") from None


def read_peaks(path: str | Path) -> list[Peak]:
    """Parse a narrowPeak or BED file, validating every line.

    A file named ``*.narrowPeak[.gz]`` must have 10 columns on every line; column 10 is the summit
    offset from the peak start (-1 for none: the midpoint is used). Other files need at least 3
    columns (chrom, start, end); a 10-column line is read as narrowPeak. Header, ``track`` and
    ``browser`` lines and blank lines are skipped.

    Raises
    ------
    UserError
        Naming the file and line of the first malformed record (too few columns, a non-integer field,
        start >= end, a summit outside its peak) or if the file holds no peak.
    """
    path = Path(path)
    is_narrow_peak = path.name.lower().removesuffix(".gz").endswith("narrowpeak")
    peaks = []
    for line_number, line in _text_lines(path):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.rstrip("\n").split("\t")
        if is_narrow_peak and len(fields) != 10:
            raise UserError(
                f"{path}:{line_number}: a narrowPeak line needs 10 tab-separated columns, found {len(fields)}"
            )
        if len(fields) < 3:
            raise UserError(
                f"{path}:{line_number}: expected at least 3 tab-separated columns "
                f"(chrom, start, end), found {len(fields)}"
            )
        start = _integer_field(fields[1], "start (column 2)", path, line_number)
        end = _integer_field(fields[2], "end (column 3)", path, line_number)
        if start < 0 or end <= start:
            raise UserError(f"{path}:{line_number}: need 0 <= start < end, got start={start} end={end}")
        summit = (start + end) // 2
        if len(fields) == 10:
            offset = _integer_field(fields[9], "summit (column 10)", path, line_number)
            if offset != -1:
                if not 0 <= offset < end - start:
                    raise UserError(
                        f"{path}:{line_number}: summit offset {offset} lies outside its peak "
                        f"of length {end - start}"
                    )
                summit = start + offset
        peaks.append(Peak(fields[0], start, end, summit, line_number))
    if not peaks:
        raise UserError(f"{path}: no peaks found (empty input)")
    return peaks


def _integer_field(text: str, name: str, path: Path, line_number: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(f"{path}:{line_number}: field {name} is not an integer: {text!r}") from None


def read_peak_windows(
    genome: str | Path, positives: str | Path, background: str | Path, width: int = 400
) -> tuple[Regions, Regions]:
    """Mode A: fixed-width windows around peak summits, read from a genome FASTA.

    Parameters
    ----------
    genome : path
        Genome FASTA (plain, or bgzip-compressed with a .fai/.gzi index as pyfaidx needs).
    positives, background : path
        narrowPeak or BED files of the positive and background regions.
    width : int, default 400
        Window width; windows span ``[summit - width // 2, summit - width // 2 + width)``.

    Returns
    -------
    positives, background : Regions
        Background windows overlapping any positive window are removed (``dropped["overlaps_positive"]``).
    """
    import pybedtools
    import pyfaidx

    genome = Path(genome)
    if not genome.exists():
        raise UserError(f"{genome}: genome FASTA not found")
    try:
        fasta = pyfaidx.Fasta(str(genome), indexname=_index_path(genome), sequence_always_upper=False, as_raw=True)
    except Exception as error:  # pyfaidx raises several types for malformed input
        raise UserError(f"{genome}: cannot index the genome FASTA: {error}") from None
    chrom_sizes = {name: len(record) for name, record in fasta.items()}

    positive_windows, positive_drops = _windows(read_peaks(positives), Path(positives), chrom_sizes, width, genome)
    background_windows, background_drops = _windows(
        read_peaks(background), Path(background), chrom_sizes, width, genome
    )

    if positive_windows and background_windows:
        as_bed = lambda windows: pybedtools.BedTool(  # noqa: E731
            [(c, s, e, str(i)) for i, (c, s, e, _) in enumerate(windows)]
        )
        kept = as_bed(background_windows).intersect(as_bed(positive_windows), v=True)
        keep_indices = sorted(int(interval.name) for interval in kept)
        background_drops["overlaps_positive"] += len(background_windows) - len(keep_indices)
        background_windows = [background_windows[i] for i in keep_indices]

    return (
        _fetch(fasta, positive_windows, Path(positives), positive_drops),
        _fetch(fasta, background_windows, Path(background), background_drops),
    )


def _index_path(genome: Path) -> str:
    """The genome's ``.fai`` beside it, or in regsim's cache when its folder is read-only."""
    beside = Path(f"{genome}.fai")
    if beside.exists() or os.access(genome.parent, os.W_OK):
        return str(beside)
    stat = genome.stat()
    key = sha256_bytes(f"{genome.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "regsim" / "fai"
    cache.mkdir(parents=True, exist_ok=True)
    return str(cache / f"{genome.name}.{key}.fai")


def _windows(peaks, path, chrom_sizes, width, genome):
    windows, dropped, seen = [], Counter(), set()
    for peak in peaks:
        if peak.chrom not in chrom_sizes:
            raise UserError(f"{path}:{peak.line}: chromosome {peak.chrom!r} is not in the genome FASTA {genome}")
        start = peak.summit - width // 2
        end = start + width
        if start < 0 or end > chrom_sizes[peak.chrom]:
            dropped["off_chromosome_edge"] += 1
            continue
        key = (peak.chrom, start, end)
        if key in seen:
            dropped["duplicate_window"] += 1
            continue
        seen.add(key)
        windows.append((peak.chrom, start, end, peak.line))
    return windows, dropped


def _fetch(fasta, windows, path, dropped) -> Regions:
    sequences, sources, chroms = [], [], []
    for chrom, start, end, _ in windows:
        sequences.append(str(fasta[chrom][start:end]).upper())
        sources.append(f"{chrom}:{start}-{end}")
        chroms.append(chrom)
    return _drop_non_acgt(Regions(sequences, sources, chroms, path, dropped))


def read_sequence_sets(
    positives_fasta: str | Path, negatives_fasta: str | Path, width: int | None = None
) -> tuple[Regions, Regions]:
    """Mode B: two FASTA files of equal-length sequences.

    Parameters
    ----------
    positives_fasta, negatives_fasta : path
        FASTA files (``.gz`` allowed). Headers of the form ``chrom:start-end`` give coordinates.
    width : int, optional
        Centre-crop every sequence to this width (all must be at least this long). Default: the
        common length of the sequences, which must then all be equal.
    """
    positives = read_fasta(positives_fasta)
    negatives = read_fasta(negatives_fasta)
    lengths = {len(s) for s in positives.sequences} | {len(s) for s in negatives.sequences}
    if width is None:
        if len(lengths) != 1:
            _raise_length_mismatch(positives, negatives, min(lengths), "--width to crop them")
        width = lengths.pop()
    for regions in (positives, negatives):
        for i, sequence in enumerate(regions.sequences):
            if len(sequence) < width:
                raise UserError(
                    f"{regions.path}: record {i + 1} ({regions.sources[i]}) has length {len(sequence)}, "
                    f"shorter than the width {width}"
                )
            if len(sequence) > width:
                offset = (len(sequence) - width) // 2
                regions.sequences[i] = sequence[offset : offset + width]
                regions.dropped["cropped_to_width"] += 1  # counted, not dropped
    return _drop_non_acgt(_drop_duplicates(positives)), _drop_non_acgt(_drop_duplicates(negatives))


def _raise_length_mismatch(positives, negatives, expected, hint):
    for regions in (positives, negatives):
        for i, sequence in enumerate(regions.sequences):
            if len(sequence) != len(positives.sequences[0]):
                raise UserError(
                    f"{regions.path}: record {i + 1} ({regions.sources[i]}) has length {len(sequence)}, "
                    f"but the first positive has length {len(positives.sequences[0])}; sequences must "
                    f"have equal length (or give {hint})"
                )


def read_fasta(path: str | Path) -> Regions:
    """Every record of a FASTA file (``.gz`` allowed), upper-cased, with nothing filtered.

    Raises
    ------
    UserError
        Naming the file and line: sequence before the first header, an empty header or record, or no
        record at all.
    """
    path = Path(path)
    sequences, sources, chroms = [], [], []
    chunks: list[str] = []
    for line_number, line in _text_lines(path):
        line = line.strip()
        if not line:
            continue
        if line.startswith(">"):
            if sources:
                sequences.append("".join(chunks))
            header = line[1:].strip()
            if not header:
                raise UserError(f"{path}:{line_number}: empty FASTA header")
            sources.append(header)
            match = _COORDINATE_HEADER.match(header)
            chroms.append(match["chrom"] if match else None)
            chunks = []
        else:
            if not sources:
                raise UserError(f"{path}:{line_number}: sequence data before the first '>' header")
            chunks.append(line.upper())
    if sources:
        sequences.append("".join(chunks))
    if not sequences:
        raise UserError(f"{path}: no FASTA records found (empty input)")
    for i, sequence in enumerate(sequences):
        if not sequence:
            raise UserError(f"{path}: record {i + 1} ({sources[i]}) has no sequence")
    return Regions(sequences, sources, chroms, path)


def _drop_duplicates(regions: Regions) -> Regions:
    """Drop records identical to an earlier one in header and sequence (a repeated header alone is kept)."""
    seen, keep = set(), []
    for i, key in enumerate(zip(regions.sources, regions.sequences)):
        if key in seen:
            regions.dropped["duplicate_record"] += 1
        else:
            seen.add(key)
            keep.append(i)
    if len(keep) == len(regions):
        return regions
    return regions.subset(np.array(keep))


def _drop_non_acgt(regions: Regions) -> Regions:
    if not regions.sequences:
        return regions
    step = 10_000  # encoded a chunk at a time: the strings are already held, their codes need not be
    clean = np.concatenate([(encode_integers(regions.sequences[i : i + step]) < 4).all(axis=1)
                            for i in range(0, len(regions.sequences), step)])
    regions.dropped["non_acgt_bases"] += int((~clean).sum())
    if clean.all():
        return regions
    return regions.subset(clean)


def gc_matched_subsample(
    positives: Regions, background: Regions, *, n_bins: int = 20, random_state: int = 0
) -> Regions:
    """Subsample the background so that its GC distribution matches the positives'.

    GC fractions are binned into ``n_bins`` equal bins; in every bin the background keeps
    ``round(ratio * n_positive_in_bin)`` sequences, chosen at random, where ``ratio`` is the largest
    value all bins can supply (at most ``len(background) / len(positives)``). Removed sequences are
    counted in ``dropped["gc_matching"]``.
    """
    rng = np.random.default_rng(random_state)
    bins = np.linspace(0, 1, n_bins + 1)
    pos_bin = np.clip(np.digitize(gc_fraction(encode_integers(positives.sequences)), bins) - 1, 0, n_bins - 1)
    bg_bin = np.clip(np.digitize(gc_fraction(encode_integers(background.sequences)), bins) - 1, 0, n_bins - 1)
    pos_counts = np.bincount(pos_bin, minlength=n_bins)
    bg_counts = np.bincount(bg_bin, minlength=n_bins)
    needed = pos_counts > 0
    ratio = min(len(background) / len(positives), float(np.min(bg_counts[needed] / pos_counts[needed])))
    if ratio == 0:
        empty = [f"{bins[b]:.2f}-{bins[b + 1]:.2f}" for b in np.flatnonzero(needed & (bg_counts == 0))]
        raise UserError(
            f"{background.path}: cannot GC-match the background: no background sequence with GC in "
            f"{', '.join(empty)} where positives have some"
        )
    keep = []
    for b in range(n_bins):
        members = np.flatnonzero(bg_bin == b)
        take = min(len(members), int(round(ratio * pos_counts[b])))
        keep.extend(rng.choice(members, size=take, replace=False).tolist())
    keep = np.sort(np.array(keep, dtype=np.int64))
    subset = background.subset(keep)
    subset.dropped["gc_matching"] += len(background) - len(keep)
    return subset
