"""The regsim dataset format: its features, and writing and reading its splits.

Write a dataset folder that ``datasets.load_dataset(folder, config)`` reads and the Hub serves.

Layout::

    DIR/README.md                         dataset card (YAML configs + dataset_info, generated)
    DIR/<config>/<split>-NNNNN-of-NNNNN.parquet
    DIR/motifs.meme  DIR/retained_motifs.tsv  DIR/motif_statistics.png  DIR/build_manifest.json

Parquet files are written with fixed settings and no timestamps, so the same rows give the same bytes.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import datasets
from datasets import ClassLabel, Features, List, Value

from .core.errors import UserError

SPLIT_ORDER = ("train", "validation", "test")
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
    bars = datasets.utils.logging.is_progress_bar_enabled()
    verbosity = datasets.logging.get_verbosity()
    datasets.utils.logging.disable_progress_bar()
    datasets.logging.set_verbosity_error()
    try:
        with tempfile.TemporaryDirectory(prefix="regsim-datasets-") as cache_dir:
            return datasets.load_dataset(
                dataset, config_name, cache_dir=cache_dir if local.exists() else None, keep_in_memory=True
            )
    except (ValueError, FileNotFoundError, datasets.exceptions.DatasetNotFoundError) as error:
        raise UserError(f"cannot load dataset {dataset} (config {config_name or 'default'}): {error}") from error
    finally:
        datasets.logging.set_verbosity(verbosity)
        if bars:
            datasets.utils.logging.enable_progress_bar()
