"""Motif file formats: MEME text, JASPAR (``.jaspar``, ``.pfm``) and HOMER (``.motif``).

Readers return :class:`~dataset_builder.motifs.Motif` lists and raise
:class:`~dataset_builder.errors.UserError` naming the file and line of the first problem.
Conventions follow the MEME suite so that FIMO and regsim see the same probabilities:

- MEME text: ``MOTIF id [name]`` then ``letter-probability matrix: alength= 4 w= W nsites= N``
  and W rows of 4 probabilities; columns off 1 by more than 1e-5 are renormalised (MEME's
  ``normalize_motif``); a missing ``nsites`` means 20. A motif with only a log-odds matrix is
  refused.
- JASPAR ``.jaspar``: ``>ID NAME`` then four rows ``A [ counts ]`` (labels and brackets optional,
  unlabelled rows in A, C, G, T order); ``.pfm``: one such matrix, header optional, either four
  rows of w counts or w rows of four counts. Counts become probabilities column by column and
  ``nsites`` is the rounded mean column sum (as MEME's ``jaspar2meme``).
- HOMER ``.motif``: ``>CONSENSUS<TAB>NAME<TAB>log-odds threshold...`` then w rows of four
  probabilities; the id is NAME, the name is NAME up to its first ``/``; HOMER's own detection
  threshold is not used; ``nsites`` is 20 (HOMER files do not record it).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np

from .core.errors import UserError
from .motifs import ALPHABET, DEFAULT_NSITES, Motif, motif_from_counts

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_KEY_VALUE_RE = re.compile(r"(\w+)\s*=\s*(\S+)")


class _Lines:
    """Numbered lines of a file, for error messages ``path:line: message``."""

    def __init__(self, path: Path):
        self.path = path
        try:
            if path.suffix == ".gz":
                with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            else:
                text = path.read_text(encoding="utf-8", errors="replace")
        except (OSError, EOFError) as exc:
            raise UserError(f"cannot read motif file {path}: {exc}") from None
        self.lines = text.splitlines()

    def error(self, lineno: int, message: str) -> UserError:
        return UserError(f"{self.path}:{lineno}: {message}")


def _numbers(text: str, lines: _Lines, lineno: int) -> list[float]:
    values = []
    for token in text.split():
        if not _NUMBER_RE.match(token):
            raise lines.error(lineno, f"expected a number, got {token!r}")
        values.append(float(token))
    return values


def _format_of(path: Path, lines: _Lines) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    known = {".meme": "meme", ".txt": "meme", ".jaspar": "jaspar", ".pfm": "pfm", ".motif": "homer", ".motifs": "homer"}
    if suffix in known:
        return known[suffix]
    content = [(i, ln.strip()) for i, ln in enumerate(lines.lines, 1) if ln.strip()]
    if not content:
        raise lines.error(1, "empty motif file")
    first = content[0][1]
    if first.startswith("MEME version") or any(ln.startswith("MOTIF") for _, ln in content):
        return "meme"
    if first.startswith(">") and len(content) > 1:
        second = content[1][1]
        if "[" in second:
            return "jaspar"
        if len(second.split()) == 4 and len(first.split("\t")) >= 3:
            return "homer"
        return "jaspar"
    if all(_NUMBER_RE.match(tok) for _, ln in content for tok in ln.replace("[", " ").replace("]", " ").split()[1:]):
        return "pfm"
    raise lines.error(content[0][0], "cannot tell the motif format (use a .meme, .jaspar, .pfm or .motif extension)")


def read_motif_file(path: Path) -> list[Motif]:
    """Read every motif of a MEME, JASPAR or HOMER file (format from the extension or content)."""
    lines = _Lines(Path(path))
    fmt = _format_of(lines.path, lines)
    reader = {"meme": _read_meme, "jaspar": _read_jaspar, "pfm": _read_pfm, "homer": _read_homer}[fmt]
    motifs = reader(lines)
    if not motifs:
        raise lines.error(max(len(lines.lines), 1), f"no motif found in this {fmt.upper()} file")
    ids = [m.id for m in motifs]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise UserError(f"{lines.path}: motif id {dup!r} occurs more than once")
    return motifs


def _normalised(columns: np.ndarray) -> np.ndarray:
    """MEME's normalize_motif: leave a column alone when it sums to 1 within 1e-5."""
    sums = columns.sum(axis=0)
    off = np.abs(sums - 1) > 1e-5
    columns = columns.copy()
    columns[:, off] /= sums[off]
    return columns


def _check_probability_rows(rows: np.ndarray, lines: _Lines, first_lineno: int):
    for j, row in enumerate(rows):
        if np.any(row < 0):
            raise lines.error(first_lineno + j, "negative probability")
        s = row.sum()
        if not 0.9 <= s <= 1.1:
            raise lines.error(first_lineno + j, f"probabilities sum to {s:.6g}, expected 1")


# --- MEME --------------------------------------------------------------------------------------


def _read_meme(lines: _Lines) -> list[Motif]:
    motifs: list[Motif] = []
    current: tuple[str, str, int] | None = None  # id, name, line of MOTIF
    have_matrix = False
    alphabet_ok = True
    i = 0
    n = len(lines.lines)
    while i < n:
        lineno = i + 1
        line = lines.lines[i].strip()
        i += 1
        if line.startswith("ALPHABET"):
            letters = line.split("=", 1)[1].strip() if "=" in line else line.split(None, 1)[1] if " " in line else ""
            alphabet_ok = letters.upper().strip('"') in {"ACGT", "DNA"} or letters.upper().startswith('"DNA"')
            if not alphabet_ok:
                raise lines.error(lineno, f"only the DNA alphabet ACGT is supported, got {letters!r}")
        elif line.startswith("MOTIF"):
            if current is not None and not have_matrix:
                raise lines.error(current[2], f"motif {current[0]} has no letter-probability matrix")
            parts = line.split()
            if len(parts) < 2:
                raise lines.error(lineno, "MOTIF line without an id")
            current = (parts[1], parts[2] if len(parts) > 2 else parts[1], lineno)
            have_matrix = False
        elif line.startswith("letter-probability matrix"):
            if current is None:
                raise lines.error(lineno, "letter-probability matrix before any MOTIF line")
            fields = dict((k.lower(), v) for k, v in _KEY_VALUE_RE.findall(line))
            try:
                alength = int(fields.get("alength", "4"))
                width = int(fields["w"]) if "w" in fields else None
                nsites = float(fields["nsites"]) if "nsites" in fields else DEFAULT_NSITES
            except ValueError:
                raise lines.error(lineno, f"cannot read alength/w/nsites in {line!r}") from None
            if alength != 4:
                raise lines.error(lineno, f"alength= {alength}: only 4-letter DNA motifs are supported")
            rows, first_row = [], i + 1
            while i < n and (width is None or len(rows) < width):
                text = lines.lines[i].strip()
                if not text:
                    if width is None and rows:
                        break
                    i += 1
                    continue
                if width is None and not _NUMBER_RE.match(text.split()[0]):
                    break
                values = _numbers(text, lines, i + 1)
                if len(values) != 4:
                    raise lines.error(i + 1, f"expected 4 probabilities (A C G T), got {len(values)}")
                if not rows:
                    first_row = i + 1
                rows.append(values)
                i += 1
            if width is not None and len(rows) < width:
                raise lines.error(i, f"motif {current[0]}: expected {width} rows, found {len(rows)}")
            if not rows:
                raise lines.error(lineno, f"motif {current[0]}: empty letter-probability matrix")
            rows = np.array(rows)
            _check_probability_rows(rows, lines, first_row)
            probabilities = _normalised(rows.T)
            motifs.append(Motif(current[0], current[1], probabilities, nsites, str(lines.path)))
            have_matrix = True
    if current is not None and not have_matrix:
        raise lines.error(current[2], f"motif {current[0]} has no letter-probability matrix")
    return motifs


def _shortest(x: float) -> str:
    return np.format_float_positional(float(x), unique=True, trim="-")


def format_meme(motifs: list[Motif], background: np.ndarray) -> str:
    """MEME text (version 4) for ``motifs`` with the given background (no pseudocounts applied)."""
    out = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {_shortest(f)}" for b, f in zip(ALPHABET, background)),
        "",
    ]
    for m in motifs:
        if any(c.isspace() for c in m.id) or not m.id:
            raise UserError(f"motif id {m.id!r} cannot be written to a MEME file (empty or contains spaces)")
        name = "_".join(m.name.split()) if m.name else m.id
        out.append(f"MOTIF {m.id} {name}")
        out.append("")
        out.append(f"letter-probability matrix: alength= 4 w= {m.width} nsites= {_shortest(m.nsites)} E= 0")
        for column in m.probabilities.T:
            out.append(" ".join(_shortest(v) for v in column))
        out.append("")
    return "\n".join(out) + "\n"


# --- JASPAR ------------------------------------------------------------------------------------

_ROW_LABEL_RE = re.compile(r"^([ACGTacgt])\s*[:|]?\s*(.*)$")


def _count_row(text: str, lines: _Lines, lineno: int) -> tuple[str | None, list[float]]:
    label = None
    m = _ROW_LABEL_RE.match(text)
    if m and not _NUMBER_RE.match(text.split()[0]):
        label, text = m.group(1).upper(), m.group(2)
    text = text.strip()
    if text.startswith("["):
        if not text.endswith("]"):
            raise lines.error(lineno, "unclosed '[' in count row")
        text = text[1:-1]
    elif "[" in text or "]" in text:
        raise lines.error(lineno, "misplaced bracket in count row")
    values = _numbers(text, lines, lineno)
    if not values:
        raise lines.error(lineno, "count row without numbers")
    return label, values


def _matrix_from_rows(rows, lines: _Lines, first_lineno: int, allow_transposed: bool) -> np.ndarray:
    """Four labelled/unlabelled rows of counts (or, if allowed, w rows of four) as (4, w)."""
    labels = [label for label, _, _ in rows]
    if len(rows) == 4:
        for _, values, lineno in rows[1:]:
            if len(values) != len(rows[0][1]):
                raise lines.error(lineno, f"row has {len(values)} counts, the first row has {len(rows[0][1])}")
        if any(labels):
            if sorted(str(label) for label in labels) != list(ALPHABET):
                raise lines.error(first_lineno, f"rows must be labelled A, C, G and T once each, got {labels}")
            order = {label: values for label, values, _ in rows}
            return np.array([order[b] for b in ALPHABET])
        return np.array([values for _, values, _ in rows])
    if allow_transposed and rows and not any(labels) and all(len(values) == 4 for _, values, _ in rows):
        return np.array([values for _, values, _ in rows]).T
    where = rows[-1][2] if rows else first_lineno
    raise lines.error(where, f"expected 4 rows of counts (A, C, G, T), found {len(rows)}")


def _read_jaspar(lines: _Lines) -> list[Motif]:
    motifs = []
    header: tuple[str, str, int] | None = None
    rows: list = []

    def finish():
        if header is None:
            return
        counts = _matrix_from_rows(rows, lines, header[2], allow_transposed=False)
        motifs.append(_counts_motif(header[0], header[1], counts, lines, header[2]))

    for lineno, raw in enumerate(lines.lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith(">"):
            finish()
            parts = text[1:].split(None, 1)
            if not parts:
                raise lines.error(lineno, "header '>' without an id")
            header = (parts[0], parts[1].strip() if len(parts) > 1 else parts[0], lineno)
            rows = []
        else:
            if header is None:
                raise lines.error(lineno, "count row before the first '>ID NAME' header")
            label, values = _count_row(text, lines, lineno)
            rows.append((label, values, lineno))
            if len(rows) > 4:
                raise lines.error(lineno, f"motif {header[0]}: more than 4 count rows")
    finish()
    return motifs


def _read_pfm(lines: _Lines) -> list[Motif]:
    motif_id = lines.path.name.split(".")[0]
    name, header_line = motif_id, 1
    rows = []
    for lineno, raw in enumerate(lines.lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith(">"):
            if rows:
                raise lines.error(lineno, "a .pfm file holds one motif; use .jaspar for several")
            parts = text[1:].split(None, 1)
            if parts:
                motif_id = parts[0]
                name = parts[1].strip() if len(parts) > 1 else parts[0]
            header_line = lineno
            continue
        label, values = _count_row(text, lines, lineno)
        rows.append((label, values, lineno))
    if not rows:
        raise lines.error(header_line, "no counts in .pfm file")
    counts = _matrix_from_rows(rows, lines, header_line, allow_transposed=True)
    return [_counts_motif(motif_id, name, counts, lines, header_line)]


def _counts_motif(motif_id: str, name: str, counts: np.ndarray, lines: _Lines, lineno: int) -> Motif:
    if np.any(counts < 0):
        raise lines.error(lineno, f"motif {motif_id}: negative count")
    sums = counts.sum(axis=0)
    if np.any(sums <= 0):
        raise lines.error(lineno, f"motif {motif_id}: column {int(np.argmax(sums <= 0)) + 1} has no counts")
    return motif_from_counts(motif_id, name, counts, source=str(lines.path))


# --- HOMER -------------------------------------------------------------------------------------


def _read_homer(lines: _Lines) -> list[Motif]:
    motifs = []
    header: tuple[str, str, int] | None = None
    rows: list = []

    def finish():
        if header is None:
            return
        if not rows:
            raise lines.error(header[2], f"motif {header[0]} has no probability rows")
        matrix = np.array([values for values, _ in rows])
        _check_probability_rows(matrix, lines, rows[0][1])
        motifs.append(Motif(header[0], header[1], _normalised(matrix.T), DEFAULT_NSITES, str(lines.path)))

    for lineno, raw in enumerate(lines.lines, 1):
        text = raw.strip()
        if not text:
            continue
        if text.startswith(">"):
            finish()
            fields = text[1:].split("\t")
            if len(fields) < 2 or not fields[1].strip():
                fields = text[1:].split()
            if len(fields) < 2:
                raise lines.error(lineno, "HOMER header must be '>consensus<TAB>name<TAB>threshold'")
            if len(fields) >= 3 and fields[2].strip() and not _NUMBER_RE.match(fields[2].strip()):
                raise lines.error(lineno, f"HOMER log-odds threshold {fields[2].strip()!r} is not a number")
            full = fields[1].strip()
            header = (full, full.split("/")[0] or full, lineno)
            rows = []
        else:
            if header is None:
                raise lines.error(lineno, "probability row before the first '>' header")
            values = _numbers(text, lines, lineno)
            if len(values) != 4:
                raise lines.error(lineno, f"expected 4 probabilities (A C G T), got {len(values)}")
            rows.append((values, lineno))
    finish()
    return motifs
