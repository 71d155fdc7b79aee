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


def read_split(dataset, config_name: str | None = None, split: str = "test", *, columns=("sequence",), data=None):
    """One split of a dataset, checked: it exists, is not empty and has ``columns``.

    Parameters
    ----------
    dataset : str or path
        Dataset folder or Hub id (named in messages).
    config_name : str, optional
    split : str, default "test"
    columns : iterable of str
        Columns the caller needs.
    data : datasets.DatasetDict, optional
        Already read with :func:`read_dataset` (default: read it now).

    Returns
    -------
    datasets.Dataset
    """
    data = read_dataset(dataset, config_name) if data is None else data
    if split not in data:
        raise UserError(f"dataset {dataset} has no split {split!r}; it has {', '.join(data)}")
    table = data[split]
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise UserError(f"dataset {dataset}, split {split}: no column {missing[0]!r} "
                        f"(columns: {', '.join(table.column_names)})")
    if len(table) == 0:
        raise UserError(f"dataset {dataset}, split {split} is empty")
    return table


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


#: Rows per Parquet row group of a streamed split (bounds the rows a split writer holds).
ROWS_PER_ROW_GROUP = 4_096
#: A split of at most this many rows is one row group, exactly as :func:`write_split` writes it (the embedded
#: default's and the simple preset's 14,000-row train split are).
ONE_ROW_GROUP_MAX = 16_384


def rows_table(columns: dict):
    """One batch of rows as an Arrow table of :data:`FEATURES`' schema, built from arrays directly.

    Parameters
    ----------
    columns : dict
        ``id``, ``source``, ``backbone`` (lists of str, ``N`` each); ``sequence`` (``(N, L)`` uint8 codes
        A=0, C=1, G=2, T=3); ``label`` (``(N,)`` int); ``motif_mask`` (``(N, L)`` int8); ``motifs``: a
        pandas DataFrame of the instances, sorted by row, with ``sequence_index`` (row in ``0..N-1``) and
        the instance fields of :data:`FEATURES`.

    Returns
    -------
    pyarrow.Table
    """
    import numpy as np
    import pyarrow as pa

    schema = FEATURES.arrow_schema
    codes = np.ascontiguousarray(columns["sequence"], dtype=np.uint8)
    n, length = codes.shape
    row_offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * length).tobytes())
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)[codes.reshape(-1)]
    sequence = pa.StringArray.from_buffers(n, row_offsets, pa.py_buffer(letters.tobytes()))
    mask = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * length),
                                    pa.array(np.ascontiguousarray(columns["motif_mask"], dtype=np.int8).reshape(-1)))
    instances = columns["motifs"]
    item_type = schema.field("motifs").type.value_type
    fields = [item_type.field(i) for i in range(item_type.num_fields)]
    struct = pa.StructArray.from_arrays(
        [pa.array(instances[f.name].to_numpy() if f.type != pa.string() else instances[f.name].tolist(), type=f.type)
         for f in fields],
        fields=fields,
    )
    counts = np.bincount(instances["sequence_index"].to_numpy(dtype=np.int64), minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    motifs = pa.ListArray.from_arrays(pa.array(offsets), struct)
    arrays = [
        pa.array(columns["id"], type=pa.string()),
        sequence,
        pa.array(np.asarray(columns["label"], dtype=np.int64)),
        motifs.cast(schema.field("motifs").type),
        mask.cast(schema.field("motif_mask").type),
        pa.array(columns["source"], type=pa.string()),
        pa.array(columns["backbone"], type=pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


class SplitWriter:
    """Write one split as Parquet shards while its rows arrive, holding at most one row group.

    Shards hold :data:`ROWS_PER_SHARD` rows each (the last one fewer) and row groups
    :data:`ROWS_PER_ROW_GROUP`, whatever batches the rows arrive in, so the files depend only on the
    rows (and ``at_most``). Shards are written as ``<split>-NNNNN.parquet.partial`` and named
    ``<split>-NNNNN-of-NNNNN.parquet`` by :meth:`close`, once their number is known.

    Parameters
    ----------
    folder : Path
        Dataset folder.
    config_name, split : str
    at_most : int, optional
        An upper bound on the split's rows, known in advance. At most :data:`ONE_ROW_GROUP_MAX` makes the
        split one row group, with the bytes :func:`write_split` gives the same rows.
    """

    def __init__(self, folder: Path, config_name: str, split: str, at_most: int | None = None):
        self.folder, self.config_name, self.split = Path(folder), config_name, split
        self.group_rows = ONE_ROW_GROUP_MAX if at_most is not None and at_most <= ONE_ROW_GROUP_MAX else ROWS_PER_ROW_GROUP
        self.pending: list = []
        self.pending_rows = 0
        self.rows = 0
        self.num_bytes = 0
        self.partial: list[Path] = []
        self._writer = None
        self._shard_rows = 0

    def write(self, table) -> None:
        """Append rows (a :func:`rows_table` table); full row groups are written at once."""
        if table.num_rows == 0:
            return
        self.pending.append(table)
        self.pending_rows += table.num_rows
        while self.pending_rows >= self._group_rows():
            self._flush(self._group_rows())

    def _group_rows(self) -> int:
        return min(self.group_rows, ROWS_PER_SHARD - self._shard_rows)

    def _flush(self, n: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq
        from datasets import config
        from datasets.arrow_writer import get_parquet_column_options

        pending = pa.concat_tables(self.pending)
        # Concatenated (with an empty table, so even a single slice is copied) into fresh buffers: the Arrow size
        # of a slice can differ by a bitmap byte from that of the same rows in their own table.
        empty = FEATURES.arrow_schema.empty_table()
        group, rest = pa.concat_tables([pending.slice(0, n), empty]).combine_chunks(), pending.slice(n)
        self.pending, self.pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
        if self._writer is None:
            (self.folder / self.config_name).mkdir(parents=True, exist_ok=True)
            path = self.folder / self.config_name / f"{self.split}-{len(self.partial):05d}.parquet.partial"
            self.partial.append(path)
            schema = FEATURES.arrow_schema
            # The settings of datasets' Dataset.to_parquet, so a one-group split matches write_split.
            self._writer = pq.ParquetWriter(str(path), schema=schema, use_content_defined_chunking=config.DEFAULT_CDC_OPTIONS,
                                            write_page_index=True, **get_parquet_column_options(FEATURES, schema))
        self._writer.write_table(group)
        self.num_bytes += int(group.nbytes)
        self.rows += n
        self._shard_rows += n
        if self._shard_rows == ROWS_PER_SHARD:
            self._close_shard()

    def _close_shard(self) -> None:
        import json

        from datasets import config

        self._writer.add_key_value_metadata({"content_defined_chunking": json.dumps(config.DEFAULT_CDC_OPTIONS)})
        self._writer.close()
        self._writer, self._shard_rows = None, 0

    def close(self) -> dict:
        """Write what is left and name the shards; returns what :func:`write_split` returns (``num_bytes``:
        the Arrow size of the row groups written)."""
        if self.pending_rows:
            self._flush(self.pending_rows)
        if self._writer is not None:
            self._close_shard()
        files = []
        for i, path in enumerate(self.partial):
            final = path.with_name(f"{self.split}-{i:05d}-of-{len(self.partial):05d}.parquet")
            path.rename(final)
            files.append(final)
        return {"name": self.split, "num_examples": self.rows, "num_bytes": self.num_bytes, "files": files}
