"""Content-addressed cache for the benchmark's stages.

Every stage's output lives under ``<root>/<stage>/<name>-<key>`` where ``key`` hashes everything the
stage's result depends on (settings, upstream outputs' sha256, and the source files of the code that
computes it, :func:`source_fingerprint`). A re-run after a
change finds the unchanged stages' outputs and recomputes only what changed. A stage writes into a
temporary path and renames it when done, so an interrupted run never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path


def stage_key(**inputs) -> str:
    """A short hash of the JSON form of ``inputs`` (keys sorted, paths and tuples as strings/lists)."""
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_fingerprint(*patterns: str) -> str:
    """Hash of the regsim source files matching ``patterns`` (globs relative to the repository root),
    so that a stage is recomputed when the code that produces it changes."""
    from regsim.dataset_builder.core.io import sha256

    root = Path(__file__).resolve().parents[2]  # the regsim package root
    files = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
    return stage_key(**{str(p.relative_to(root)): sha256(p) for p in files})


class StageCache:
    """Paths for cached stage outputs under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, stage: str, name: str, key: str, suffix: str = "") -> Path:
        folder = self.root / stage
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}-{key}{suffix}"

    @staticmethod
    def staging(path: Path) -> Path:
        """Where to write ``path`` before :meth:`commit` renames it into place."""
        tmp = path.with_name(path.name + ".partial")
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()
        return tmp

    @staticmethod
    def commit(tmp: Path, path: Path) -> Path:
        if path.is_dir():
            shutil.rmtree(path)
        tmp.rename(path)
        return path
