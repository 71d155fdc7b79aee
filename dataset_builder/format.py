"""The regsim dataset format: its features, and writing and reading its splits.

Write a dataset folder that ``datasets.load_dataset(folder, config)`` reads and the Hub serves.

Layout::

    DIR/README.md                         dataset card (YAML configs + dataset_info, generated)
    DIR/<config>/<split>-NNNNN-of-NNNNN.parquet
    DIR/motifs.meme  DIR/retained_motifs.tsv  DIR/motif_statistics.png  DIR/build_manifest.json

Parquet files are written with fixed settings and no timestamps, so the same rows give the same bytes.

This module is the only one that knows the format: the features, the card's ``configs`` entry, writing
and reading splits, and the manifest (:func:`write_manifest`, :func:`read_manifest`,
:func:`verify_outputs`). Every reader and writer, tests included, goes through it.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path

import datasets
from datasets import ClassLabel, Features, List, Value

from .core.errors import UserError
from .core.io import sha256

SPLIT_ORDER = ("train", "validation", "test")
MANIFEST = "build_manifest.json"
CARD = "README.md"
LABEL_NAMES = ["negative", "positive"]
ROWS_PER_SHARD = 50_000

FEATURES = Features(
    {
        "id": Value("string"),
        "sequence": Value("string"),
        "label": ClassLabel(names=LABEL_NAMES),
        "motifs": List(
            {
                "motif_id": Value("string"),
                "motif_name": Value("string"),
                "start": Value("int64"),
                "end": Value("int64"),
                "strand": Value("string"),
                "score": Value("float64"),
                "p_value": Value("float64"),
                "implanted": Value("bool"),
            }
        ),
        "motif_mask": List(Value("int8")),
        "source": Value("string"),
        "backbone": Value("string"),
    }
)

COLUMN_DESCRIPTIONS = {
    "id": "record id (`pos-NNNNNN` / `neg-NNNNNN`: index of the real positive / background record it came from)",
    "sequence": "the simulated sequence, upper-case A/C/G/T",
    "label": "ClassLabel: 0 = negative, 1 = positive",
    "motifs": "every motif instance (0-based half-open `start`, `end` on the forward strand; `strand` + or -; "
    "FIMO-style log-odds `score` and `p_value`; `implanted` true for pasted instances, false for chance "
    "matches found by the re-scan)",
    "motif_mask": "per-base ground truth: 1 inside any instance, else 0 (int8, one per base)",
    "source": "the real region (or FASTA header) whose motif instances the sequence carries",
    "backbone": "the real positive whose dinucleotide shuffle forms the sequence's backbone",
}


def write_split(folder: Path, config_name: str, split: str, columns: dict) -> dict:
    """Write one split of one config as parquet shards.

    Parameters
    ----------
    folder : Path
        Dataset folder.
    config_name : str
        Config (sub-folder) name.
    split : str
        Split name.
    columns : dict
        Column name -> list of values, one per row, matching :data:`FEATURES`.

    Returns
    -------
    dict
        ``name``, ``num_examples``, ``num_bytes`` (Arrow size, as the Hub reports it) and ``files``
        (the shards written, ``<config>/<split>-NNNNN-of-NNNNN.parquet``).
    """
    table = datasets.Dataset.from_dict(columns, features=FEATURES)
    datasets.disable_progress_bars()  # the build reports its own progress
    n_shards = max(1, math.ceil(len(table) / ROWS_PER_SHARD))
    (folder / config_name).mkdir(parents=True, exist_ok=True)
    files = []
    for shard in range(n_shards):
        part = table.shard(num_shards=n_shards, index=shard, contiguous=True)
        path = folder / config_name / f"{split}-{shard:05d}-of-{n_shards:05d}.parquet"
        part.to_parquet(str(path))
        files.append(path)
    return {"name": split, "num_examples": len(table), "num_bytes": int(table.data.nbytes), "files": files}


def dataset_info(config_name: str, written_splits: list[dict]) -> dict:
    """The card's ``dataset_info`` entry for one config, from :func:`write_split` results."""
    return {
        "config_name": config_name,
        "features": FEATURES._to_yaml_list(),
        "splits": [
            {"name": s["name"], "num_bytes": s["num_bytes"], "num_examples": s["num_examples"]}
            for s in written_splits
        ],
        "download_size": sum(f.stat().st_size for s in written_splits for f in s["files"]),
        "dataset_size": sum(s["num_bytes"] for s in written_splits),
    }


def read_dataset(dataset: str | Path, config_name: str | None = None):
    """``datasets.load_dataset(dataset, config_name)``, held in memory, quietly.

    A local folder is read through a throwaway cache: datasets 5.2 reuses a stale Arrow cache when a
    folder is rebuilt in place (measured: the old row counts came back after a rebuild).

    Parameters
    ----------
    dataset : str or path
        Dataset folder, or a Hub repository id ``ORG/NAME``.
    config_name : str, optional
        Config; default: the dataset's default.

    Returns
    -------
    datasets.DatasetDict

    Raises
    ------
    UserError
        The folder does not exist, is a file, or cannot be read as a dataset.
    """
    import datasets

    dataset = str(dataset)
    local = Path(dataset)
    if not local.exists() and (dataset.startswith((".", "/", "~")) or dataset.count("/") != 1):
        raise UserError(f"dataset folder {dataset} does not exist")
    if local.exists() and not local.is_dir():
        raise UserError(f"dataset {dataset} is a file; give the dataset folder written by `regsim build`")
    if not local.exists() and os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise UserError(f"dataset {dataset}: no such folder, and the Hub is offline (HF_HUB_OFFLINE) to fetch it from")
    if local.is_dir() and not any(local.rglob("*.parquet")):
        raise UserError(f"{dataset}: not a dataset folder (no parquet files); build one with `regsim build`")
    bars = datasets.utils.logging.is_progress_bar_enabled()
    verbosity = datasets.logging.get_verbosity()
    datasets.utils.logging.disable_progress_bar()
    datasets.logging.set_verbosity_error()
    try:
        with tempfile.TemporaryDirectory(prefix="regsim-datasets-") as cache_dir:
            return datasets.load_dataset(
                dataset, config_name, cache_dir=cache_dir if local.exists() else None, keep_in_memory=True
            )
    except Exception as error:  # noqa: BLE001 - whatever load_dataset raises, the dataset could not be read
        message = " ".join(str(error).split())[:300]
        raise UserError(
            f"cannot load dataset {dataset} (config {config_name or 'default'}): {type(error).__name__}: {message}"
        ) from None
    finally:
        datasets.logging.set_verbosity(verbosity)
        if bars:
            datasets.utils.logging.enable_progress_bar()


def config_entry(config_name: str, splits=SPLIT_ORDER, *, default: bool = True) -> dict:
    """The card's YAML ``configs`` entry of one config: where ``load_dataset`` finds each split."""
    entry = {"config_name": config_name}
    if default:
        entry["default"] = True
    entry["data_files"] = [{"split": split, "path": f"{config_name}/{split}-*.parquet"} for split in splits]
    return entry


def write_manifest(folder: str | Path, fields: dict) -> dict:
    """Write ``build_manifest.json``: ``fields`` plus ``outputs``, the sha256 of every other file.

    Parameters
    ----------
    folder : path
        The complete dataset folder (the manifest is written last).
    fields : dict
        At least ``dataset_name`` and ``dataset_version``.

    Returns
    -------
    dict
        The manifest written.
    """
    folder = Path(folder)
    outputs = {
        path.relative_to(folder).as_posix(): sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    manifest = {**fields, "outputs": outputs}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def is_dataset_folder(path: str | Path) -> bool:
    """Whether ``path`` is a dataset folder written by ``regsim build`` (a card and a readable manifest)."""
    try:
        read_manifest(path)
    except UserError:
        return False
    return (Path(path) / CARD).is_file()


def read_manifest(folder: str | Path) -> dict:
    """The manifest of a dataset folder, checked for shape.

    Raises
    ------
    UserError
        No manifest (not a folder written by ``regsim build``), not JSON, not an object, or without a
        ``dataset_version`` string and an ``outputs`` object of ``{path: sha256}``.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise UserError(f"{Path(folder)}: no {MANIFEST}; is this a folder written by `regsim build`?")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{path}: must hold a JSON object, not a {type(manifest).__name__}")
    if not isinstance(manifest.get("dataset_version"), str):
        raise UserError(f"{path}: no dataset_version string")
    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for k, v in outputs.items()
    ):
        raise UserError(f"{path}: 'outputs' must map each file to its sha256")
    return manifest


def verify_outputs(folder: str | Path, manifest: dict, paths=None) -> None:
    """Check files of a dataset folder against its manifest's sha256.

    Parameters
    ----------
    folder : path
    manifest : dict
        From :func:`read_manifest`.
    paths : iterable of str, optional
        Relative paths to check (default: every output the manifest lists); a path the manifest does not
        list is not checked.

    Raises
    ------
    UserError
        A listed file is missing, is a symbolic link, or its sha256 differs.
    """
    folder = Path(folder)
    outputs = manifest["outputs"]
    for relative in outputs if paths is None else [p for p in paths if p in outputs]:
        path = folder / relative
        if path.is_symlink():
            raise UserError(f"{path}: a symbolic link where {MANIFEST} records a file")
        if not path.is_file():
            raise UserError(f"{path}: missing ({MANIFEST} lists it)")
        digest = sha256(path)
        if digest != outputs[relative]:
            raise UserError(
                f"{path}: sha256 {digest} differs from {outputs[relative]} in {folder / MANIFEST} "
                "(changed since the build?)"
            )


def read_card_metadata(folder: str | Path) -> dict:
    """The YAML header of a dataset folder's card (``{}`` when there is none)."""
    import yaml

    readme = Path(folder) / CARD
    if not readme.is_file():
        return {}
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", readme.read_text(encoding="utf-8"), flags=re.DOTALL)
    if not match:
        return {}
    try:
        metadata = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise UserError(f"{readme}: YAML header does not parse ({error})") from None
    return metadata if isinstance(metadata, dict) else {}


def config_data_files(folder: str | Path, config_name: str | None, card: dict | None = None) -> list[Path]:
    """Parquet files of ``config_name`` as the card's ``configs`` lists them (every parquet file if none)."""
    folder = Path(folder)
    card = read_card_metadata(folder) if card is None else card
    patterns = []
    for entry in card.get("configs") or []:
        if not isinstance(entry, dict) or entry.get("config_name", "default") != (config_name or "default"):
            continue
        files = entry.get("data_files") or []
        if isinstance(files, (str, dict)):
            files = [files]
        for item in files:
            paths = item.get("path") if isinstance(item, dict) else item
            patterns.extend([paths] if isinstance(paths, str) else list(paths or []))
    found = set()
    for pattern in patterns:
        found.update(p for p in folder.glob(pattern) if p.is_file())
    if not patterns:
        found.update(folder.rglob("*.parquet"))
    return sorted(found)
