"""Content-addressed cache for the benchmark's stages, that heals.

Every stage's output lives under ``<root>/<stage>/<name>-<key>`` where ``key`` hashes everything the
stage's result depends on (settings, upstream outputs' sha256, and the source files of the code that
computes it, :func:`source_fingerprint`). A re-run after a change finds the unchanged stages' outputs and
recomputes only what changed.

Every entry (a file or a folder) is written beside its place and renamed into it whole, with a sidecar
``.checksums/<entry>.sha256`` holding its checksum (for a folder: of every file's path and sha256). An entry is used
only when its sidecar matches what is on disk; a missing, truncated or edited entry is removed and
recomputed, and the log says so. Nothing outside the cache root is ever touched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from regsim.dataset_builder.core.io import sha256, write_atomic


def stage_key(**inputs) -> str:
    """A short hash of the JSON form of ``inputs`` (keys sorted, paths and tuples as strings/lists)."""
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_fingerprint(*patterns: str) -> str:
    """Hash of the regsim source files matching ``patterns`` (globs relative to the package root),
    so that a stage is recomputed when the code that produces it changes."""
    root = Path(__file__).resolve().parents[2]  # the regsim package root
    files = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
    return stage_key(**{str(p.relative_to(root)): sha256(p) for p in files})


def entry_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's sorted ``path sha256`` lines."""
    if path.is_file():
        return sha256(path)
    lines = "".join(
        f"{p.relative_to(path).as_posix()} {sha256(p)}\n" for p in sorted(path.rglob("*")) if p.is_file()
    )
    return hashlib.sha256(lines.encode()).hexdigest()


class StageCache:
    """Checked entries of the stage cache under ``root``.

    Parameters
    ----------
    root : path
    log : callable, optional
        Receives one line when a damaged entry is found and recomputed.
    """

    def __init__(self, root: str | Path, log=None):
        self.root = Path(root)
        self.log = log or (lambda message: None)
        self.reused: set[Path] = set()  # entries this run found complete
        self.computed: set[Path] = set()  # entries this run wrote

    def counts(self) -> tuple[int, int]:
        """``(reused, computed)``: entries this run took from the cache, and entries it wrote."""
        return len(self.reused - self.computed), len(self.computed)

    def path(self, stage: str, name: str, key: str, suffix: str = "") -> Path:
        folder = self.root / stage
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}-{key}{suffix}"

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.parent / ".checksums" / (path.name + ".sha256")

    def _write_sidecar(self, path: Path, digest: str) -> None:
        sidecar = self._sidecar(path)
        sidecar.parent.mkdir(exist_ok=True)
        write_atomic(sidecar, (digest + "\n").encode())

    def valid(self, path: Path) -> bool:
        """Whether the entry at ``path`` is complete and unchanged; a damaged one is removed (and logged)."""
        sidecar = self._sidecar(path)
        if not path.exists() and not sidecar.exists():
            return False
        reason = None
        if not path.exists():
            reason = "missing"
        elif not sidecar.is_file():
            reason = "no checksum"
        elif entry_digest(path) != sidecar.read_text().strip():
            reason = "checksum mismatch (truncated or edited)"
        if reason is None:
            self.reused.add(path)
            return True
        self.log(f"  cache entry {path.relative_to(self.root)}: {reason}; recomputing it")
        self.discard(path)
        return False

    def discard(self, path: Path) -> None:
        """Remove an entry and its checksum."""
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        self._sidecar(path).unlink(missing_ok=True)

    @staticmethod
    def staging(path: Path) -> Path:
        """Where to write the folder entry ``path`` before :meth:`commit` moves it into place."""
        tmp = path.with_name(path.name + ".partial")
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()
        return tmp

    def commit(self, tmp: Path, path: Path) -> Path:
        """Move the finished entry ``tmp`` into place at ``path`` and record its checksum."""
        if path.exists():
            self.discard(path)
        digest = entry_digest(tmp)
        tmp.rename(path)
        self._write_sidecar(path, digest)
        self.computed.add(path)
        return path

    def write_bytes(self, path: Path, data: bytes) -> Path:
        """Store a file entry atomically with its checksum."""
        self._sidecar(path).unlink(missing_ok=True)
        write_atomic(path, data)
        self._write_sidecar(path, hashlib.sha256(data).hexdigest())
        self.computed.add(path)
        return path

    def write_json(self, path: Path, payload) -> Path:
        return self.write_bytes(path, json.dumps(payload, indent=2, default=str).encode())

    def read_json(self, path: Path):
        """The JSON entry at ``path`` if it is valid, else None (damaged entries are removed)."""
        return json.loads(path.read_text()) if self.valid(path) else None
