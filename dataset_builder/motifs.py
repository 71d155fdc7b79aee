"""Motifs: the :class:`Motif` record, JASPAR and file loading, MEME output.

A motif is a ``(4, w)`` letter-probability matrix (A, C, G, T) plus the number of sites it was
built from. Scoring follows FIMO (MEME suite): the probabilities get a pseudocount spread by the
background (:meth:`Motif.with_pseudocount`) and become base-2 log-odds against the same background
(:meth:`Motif.log_odds`); :mod:`dataset_builder.pvalues` turns those into FIMO's integer scores and
exact p-values.

Motif sources (:func:`load_motifs`):

- a JASPAR spec string, read offline from the database that ``pyjaspar`` ships, e.g.
  ``jaspar:JASPAR2024:CORE:vertebrates`` (the default, :data:`DEFAULT_MOTIF_SPEC`) or
  ``jaspar:JASPAR2024:ids=MA0035,MA0091`` (see :func:`parse_jaspar_spec` for the grammar);
- a file in MEME text, JASPAR (``.jaspar``, ``.pfm``) or HOMER (``.motif``) format, optionally
  gzip-compressed (see :mod:`dataset_builder.motif_formats`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .core.errors import UserError

ALPHABET = "ACGT"
#: FIMO's default motif pseudocount (``fimo --motif-pseudo``).
DEFAULT_PSEUDOCOUNT = 0.1
#: Site count MEME assumes when a motif does not state one (``DEFAULT_SITE_COUNT`` in motif.c).
DEFAULT_NSITES = 20.0
#: Motifs used when the user names none.
DEFAULT_MOTIF_SPEC = "jaspar:JASPAR2024:CORE:vertebrates"
DEFAULT_JASPAR_RELEASE = "JASPAR2024"
DEFAULT_JASPAR_COLLECTION = "CORE"
DEFAULT_JASPAR_TAX_GROUP = "vertebrates"

# MEME's my_log2 is ln(x) times this truncated constant, not log2(x); using the same constant
# keeps the integer-scaled scores identical to FIMO's.
_MEME_LOG2_E = 1.44269504


def uniform_background() -> np.ndarray:
    """The uniform background ``[0.25, 0.25, 0.25, 0.25]`` (A, C, G, T)."""
    return np.full(4, 0.25)


def check_background(background, *, symmetrize: bool = False) -> np.ndarray:
    """Validate a background and return it as a float64 ``(4,)`` array summing to 1.

    Parameters
    ----------
    background : array-like of 4 floats or None
        A, C, G, T frequencies (normalised here); None means uniform.
    symmetrize : bool, default False
        Average the background with its complement (A<->T, C<->G), as FIMO does when it scans
        both strands, so that both strands share one score distribution.
    """
    if background is None:
        return uniform_background()
    bg = np.asarray(background, dtype=np.float64).reshape(-1)
    if bg.shape != (4,) or not np.all(np.isfinite(bg)) or np.any(bg <= 0):
        raise UserError(f"background must be 4 positive frequencies for A, C, G, T, got {background!r}")
    if abs(bg.sum() - 1) > 1e-12:  # leave an already normalised background bit for bit as it is
        bg = bg / bg.sum()
    if symmetrize:
        bg = (bg + bg[::-1]) / 2
    return np.ascontiguousarray(bg)


@dataclasses.dataclass(frozen=True, eq=False)
class Motif:
    """A DNA motif as a letter-probability matrix.

    Parameters
    ----------
    id : str
        Identifier, e.g. ``"MA0142.1"``.
    name : str
        Human-readable name, e.g. ``"Pou5f1::Sox2"``.
    probabilities : np.ndarray
        ``(4, w)`` float64, rows A, C, G, T; every column sums to 1 (read-only copy).
    nsites : float
        Number of sites the matrix was built from; weighs the pseudocount. MEME truncates it to
        an integer and uses 20 when it is missing (<= 0).
    source : str
        Where the motif came from (``"JASPAR2024"`` or a file path).
    """

    id: str
    name: str
    probabilities: np.ndarray
    nsites: float = DEFAULT_NSITES
    source: str = ""

    def __post_init__(self):
        p = np.array(self.probabilities, dtype=np.float64, copy=True)
        if p.ndim != 2 or p.shape[0] != 4 or p.shape[1] == 0:
            raise UserError(f"motif {self.id}: probabilities must have shape (4, w) with w >= 1, got {p.shape}")
        if not np.all(np.isfinite(p)) or np.any(p < 0):
            raise UserError(f"motif {self.id}: probabilities must be finite and non-negative")
        sums = p.sum(axis=0)
        if np.any(np.abs(sums - 1) > 1e-3):
            j = int(np.argmax(np.abs(sums - 1)))
            raise UserError(f"motif {self.id}: column {j + 1} sums to {sums[j]:.6g}, expected 1")
        p.setflags(write=False)
        object.__setattr__(self, "probabilities", p)
        object.__setattr__(self, "nsites", float(self.nsites))

    def __eq__(self, other):
        if not isinstance(other, Motif):
            return NotImplemented
        return (
            (self.id, self.name, self.nsites, self.source) == (other.id, other.name, other.nsites, other.source)
            and np.array_equal(self.probabilities, other.probabilities)
        )

    __hash__ = None

    def __repr__(self):
        return f"Motif(id={self.id!r}, name={self.name!r}, width={self.width}, nsites={self.nsites:g}, source={self.source!r})"

    @property
    def width(self) -> int:
        """Number of positions ``w``."""
        return self.probabilities.shape[1]

    @property
    def consensus(self) -> str:
        """The most probable letter at each position (first of ties, in A, C, G, T order)."""
        return "".join(ALPHABET[i] for i in self.probabilities.argmax(axis=0))

    def reverse_complement(self) -> "Motif":
        """The motif of the opposite strand (same id, name, nsites and source)."""
        return dataclasses.replace(self, probabilities=self.probabilities[::-1, ::-1])

    def with_pseudocount(self, background=None, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
        """Probabilities after MEME's pseudocount (``apply_pseudocount_to_motif``).

        ``p' = (p * n + pseudocount * bg) / (n + pseudocount)`` with ``n = int(nsites)``
        (MEME truncates the site count; ``n = 20`` when ``nsites <= 0``).

        Parameters
        ----------
        background : array-like of 4 floats or None, default None (uniform)
        pseudocount : float, default 0.1 (FIMO's ``--motif-pseudo``)

        Returns
        -------
        np.ndarray
            ``(4, w)`` float64.
        """
        pseudocount = _checked_pseudocount(pseudocount)
        return _pseudocounted(self, check_background(background), pseudocount)

    def log_odds(self, background=None, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
        """Base-2 log-odds matrix as FIMO builds it (``build_motif_pssm``).

        ``log2(p' / bg)`` with ``p'`` from :meth:`with_pseudocount`, computed as MEME's
        ``my_log2`` (``ln(x) * 1.44269504``) so that the integer scaling matches FIMO exactly.

        Returns
        -------
        np.ndarray
            ``(4, w)`` float64.
        """
        pseudocount = _checked_pseudocount(pseudocount)
        return _log_odds(self, check_background(background), pseudocount)


def _checked_pseudocount(pseudocount: float) -> float:
    if not pseudocount >= 0:
        raise UserError(f"pseudocount must be >= 0, got {pseudocount}")
    return pseudocount


def _pseudocounted(motif: Motif, bg: np.ndarray, pseudocount: float) -> np.ndarray:
    """:meth:`Motif.with_pseudocount` for an already validated background."""
    if pseudocount == 0:
        return np.array(motif.probabilities)
    n = int(motif.nsites) if motif.nsites > 0 else int(DEFAULT_NSITES)
    return (motif.probabilities * n + pseudocount * bg[:, None]) / (n + pseudocount)


def _log_odds(motif: Motif, bg: np.ndarray, pseudocount: float) -> np.ndarray:
    """:meth:`Motif.log_odds` for an already validated background."""
    p = _pseudocounted(motif, bg, pseudocount)
    if not (p > 0).all():
        raise UserError(f"motif {motif.id} has zero probabilities: use a pseudocount > 0 to score it")
    return np.log(p / bg[:, None]) * _MEME_LOG2_E


def motif_from_counts(id: str, name: str, counts, source: str = "") -> Motif:
    """Build a :class:`Motif` from a ``(4, w)`` count matrix, as MEME's ``jaspar2meme`` does.

    Each column is divided by its own sum; ``nsites`` is the mean column sum rounded to the
    nearest integer. A matrix whose columns already sum to 1 is taken as probabilities with
    ``nsites = 20`` (MEME's default).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != 4 or counts.shape[1] == 0:
        raise UserError(f"motif {id}: count matrix must have shape (4, w) with w >= 1, got {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise UserError(f"motif {id}: counts must be finite and non-negative")
    sums = counts.sum(axis=0)
    if np.any(sums <= 0):
        raise UserError(f"motif {id}: column {int(np.argmax(sums <= 0)) + 1} has no counts")
    if np.all(np.abs(sums - 1) <= 1e-3):
        nsites = DEFAULT_NSITES
    else:
        nsites = float(int(sums.mean() + 0.5))
    return Motif(id=id, name=name, probabilities=counts / sums, nsites=nsites, source=source)


# --- JASPAR ------------------------------------------------------------------------------------

_RELEASE_RE = re.compile(r"^JASPAR\d{4}$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class JasparQuery:
    """A parsed JASPAR spec (see :func:`parse_jaspar_spec`)."""

    release: str = DEFAULT_JASPAR_RELEASE
    collection: str | None = DEFAULT_JASPAR_COLLECTION
    tax_group: tuple[str, ...] | None = (DEFAULT_JASPAR_TAX_GROUP,)
    ids: tuple[str, ...] | None = None
    names: tuple[str, ...] | None = None
    all_versions: bool = False


def is_jaspar_spec(spec) -> bool:
    """Whether ``spec`` is a JASPAR spec string rather than a file path."""
    return isinstance(spec, str) and (spec.lower() == "jaspar" or spec.lower().startswith("jaspar:"))


def parse_jaspar_spec(spec: str, *, release=None, collection=None, tax_group=None, all_versions=None) -> JasparQuery:
    """Parse a JASPAR spec string.

    Grammar: ``jaspar[:FIELD]*``; a field is either positional (in order: release such as
    ``JASPAR2024``, collection such as ``CORE``, taxonomic group such as ``vertebrates``) or
    ``key=value`` with key one of ``release``, ``collection``, ``tax_group`` (comma-separated
    list), ``ids`` (comma-separated matrix ids; without a version the latest version is taken),
    ``names`` (comma-separated TF names, exact) and ``all_versions`` (true/false). ``all`` as a
    collection or taxonomic group means no filter.

    Examples: ``jaspar`` (= ``jaspar:JASPAR2024:CORE:vertebrates``),
    ``jaspar:JASPAR2022:CORE:insects``, ``jaspar:JASPAR2024:ids=MA0035,MA0091``,
    ``jaspar:names=GATA1,TAL1::TCF3``, ``jaspar:JASPAR2024:CORE:vertebrates:all_versions=true``.

    Fields in the spec override the keyword arguments, which override the defaults.
    """
    if not is_jaspar_spec(spec):
        raise UserError(f"not a JASPAR spec: {spec!r} (expected 'jaspar:...')")
    values: dict = {}
    positional = ["release", "collection", "tax_group"]
    fields = [f.strip() for f in spec.split(":")[1:]]
    # "::" inside a names= value (TF dimers like TAL1::TCF3) must not split fields.
    merged: list[str] = []
    for f in fields:
        if merged and "=" in merged[-1] and merged[-1].split("=", 1)[0].strip().lower() == "names" and "=" not in f:
            merged[-1] = merged[-1] + ":" + f if f else merged[-1] + ":"
        else:
            merged.append(f)
    fields = [f for f in merged if f]
    next_positional = 0
    for f in fields:
        if "=" in f:
            key, value = (s.strip() for s in f.split("=", 1))
            key = key.lower()
            if key not in {"release", "collection", "tax_group", "ids", "names", "all_versions"}:
                raise UserError(f"JASPAR spec {spec!r}: unknown key {key!r} (known: release, collection, tax_group, ids, names, all_versions)")
            values[key] = value
        else:
            if next_positional == 0 and not _RELEASE_RE.match(f):
                next_positional = 1  # release omitted, e.g. jaspar:CORE:vertebrates
            if next_positional >= len(positional):
                raise UserError(f"JASPAR spec {spec!r}: too many fields; expected jaspar:RELEASE:COLLECTION:TAX_GROUP")
            values.setdefault(positional[next_positional], f)
            next_positional += 1
    names_value = values.get("names")

    def _list(value):
        items = tuple(v.strip() for v in value.split(",") if v.strip())
        return items or None

    rel = values.get("release", release or DEFAULT_JASPAR_RELEASE)
    if not _RELEASE_RE.match(rel):
        raise UserError(f"JASPAR spec {spec!r}: release must look like JASPAR2024, got {rel!r}")
    rel = "JASPAR" + rel[6:]
    coll = values.get("collection", collection if collection is not None else DEFAULT_JASPAR_COLLECTION)
    coll = None if coll is None or str(coll).lower() == "all" else str(coll).upper()
    tax = values.get("tax_group", tax_group if tax_group is not None else DEFAULT_JASPAR_TAX_GROUP)
    if isinstance(tax, str):
        tax = None if tax.lower() == "all" else _list(tax.lower())
    elif tax is not None:
        tax = tuple(str(t).lower() for t in tax)
    av = values.get("all_versions", all_versions if all_versions is not None else False)
    if isinstance(av, str):
        if av.lower() not in {"true", "false", "1", "0", "yes", "no"}:
            raise UserError(f"JASPAR spec {spec!r}: all_versions must be true or false, got {av!r}")
        av = av.lower() in {"true", "1", "yes"}
    ids = _list(values["ids"]) if "ids" in values else None
    names = _list(names_value) if names_value is not None else None
    for key, parsed in (("ids", ids), ("names", names)):
        if key in values and not parsed:
            raise UserError(f"JASPAR spec {spec!r}: {key}= lists nothing; name at least one matrix or drop {key}=")
    return JasparQuery(release=rel, collection=coll, tax_group=tax, ids=ids, names=names, all_versions=bool(av))


def _jaspar_sort_key(matrix_id: str):
    base, _, version = matrix_id.partition(".")
    return (base, int(version) if version.isdigit() else 0)


def load_jaspar(query: JasparQuery) -> list[Motif]:
    """Fetch motifs from the JASPAR database shipped with ``pyjaspar`` (offline).

    Selection by ``ids`` keeps the order given; every other selection is sorted by matrix id.
    """
    from pyjaspar import jaspar_releases, jaspardb

    if query.release not in jaspar_releases:
        raise UserError(f"JASPAR release {query.release} is not available; pyjaspar ships {', '.join(sorted(jaspar_releases))}")
    db = jaspardb(release=query.release)
    if query.ids:
        records = []
        for matrix_id in query.ids:
            with warnings.catch_warnings():  # pyjaspar warns about unknown ids; we raise instead
                warnings.simplefilter("ignore")
                found = db.fetch_motifs(matrix_id=[matrix_id], all_versions=query.all_versions, collection=None)
            if not found:
                raise UserError(f"JASPAR id {matrix_id} not found in {query.release}")
            records.extend(sorted(found, key=lambda m: _jaspar_sort_key(m.matrix_id)))
    else:
        records = db.fetch_motifs(
            collection=query.collection,
            tax_group=list(query.tax_group) if query.tax_group else None,
            tf_name=list(query.names) if query.names else None,
            all_versions=query.all_versions,
        )
        records = sorted(records, key=lambda m: _jaspar_sort_key(m.matrix_id))
        if not records:
            raise UserError(
                f"no JASPAR motif matches release={query.release} collection={query.collection} "
                f"tax_group={','.join(query.tax_group) if query.tax_group else 'all'}"
                + (f" names={','.join(query.names)}" if query.names else "")
            )
    motifs = []
    for record in records:
        counts = np.array([record.counts[b] for b in ALPHABET], dtype=np.float64)
        motifs.append(motif_from_counts(record.matrix_id, record.name, counts, source=query.release))
    return motifs


# --- public entry points -----------------------------------------------------------------------


def load_motifs(
    spec: str | os.PathLike = DEFAULT_MOTIF_SPEC,
    *,
    release: str | None = None,
    collection: str | None = None,
    tax_group: str | Sequence[str] | None = None,
    all_versions: bool | None = None,
) -> list[Motif]:
    """Load motifs from a JASPAR spec or a motif file.

    Parameters
    ----------
    spec : str or path-like, default ``"jaspar:JASPAR2024:CORE:vertebrates"``
        A JASPAR spec (see :func:`parse_jaspar_spec`) or the path of a motif file in MEME text
        (``.meme``, ``.txt``), JASPAR (``.jaspar``: many motifs; ``.pfm``: one count matrix,
        header optional) or HOMER (``.motif``) format, optionally ``.gz``-compressed. Other
        extensions are recognised by content.
    release, collection, tax_group, all_versions :
        Defaults for a JASPAR spec that does not state them (``JASPAR2024``, ``CORE``,
        ``vertebrates``, latest versions only). Ignored for files.

    Returns
    -------
    list of Motif
        In file order, or sorted by matrix id for JASPAR (``ids=`` keeps the given order).

    Raises
    ------
    UserError
        An unknown release/id, a missing or unparsable file (the message names file and line).
    """
    if is_jaspar_spec(spec):
        query = parse_jaspar_spec(str(spec), release=release, collection=collection, tax_group=tax_group, all_versions=all_versions)
        return load_jaspar(query)
    from .motif_formats import read_motif_file

    path = Path(spec)
    if not path.exists():
        raise UserError(f"motif file {path} does not exist (or use a JASPAR spec such as {DEFAULT_MOTIF_SPEC!r})")
    if path.is_dir():
        raise UserError(f"motif file {path} is a directory")
    motifs = read_motif_file(path)
    for motif in motifs:  # the MEME file, card and parquet are ASCII: say so now, not at the end of a build
        if not (motif.id.isascii() and motif.name.isascii()):
            raise UserError(f"{path}: motif {motif.id!r} ({motif.name!r}) has a non-ASCII id or name; rename it")
    return motifs


def write_meme(motifs: Iterable[Motif], path: str | os.PathLike, background=None) -> Path:
    """Write motifs as a MEME text file (version 4) that FIMO and :func:`load_motifs` read back.

    Probabilities are written without pseudocounts and in the shortest decimal form that reads
    back to the identical float64, so the file round-trips exactly.

    Parameters
    ----------
    motifs : iterable of Motif
    path : path-like
        Output file (``.gz`` is compressed).
    background : array-like of 4 floats or None, default None (uniform)
        Written as the file's background letter frequencies.

    Returns
    -------
    Path
    """
    from .motif_formats import format_meme

    path = Path(path)
    text = format_meme(list(motifs), check_background(background))
    if path.suffix == ".gz":
        import gzip

        with gzip.open(path, "wt", encoding="ascii") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="ascii")
    return path
