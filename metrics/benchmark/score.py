"""Score a folder of attribution files against a dataset's ground truth: the ``regsim score`` verb.

Every ``*.npz`` that ``regsim attribute`` wrote into a folder is scored through the ``motif_attribution``
evaluate module (loaded from ``regsim.metrics.METRIC_PATH``, both configs: masks and motif intervals),
exactly as the benchmark scores its runs; one row per file goes to ``ATTR_DIR/scores.csv``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.log import progress

from .pipeline import load_split, score_run

# Columns printed by ``regsim score`` (scores.csv holds every metric).
SHOWN = ("auprc_mean", "auprc_sem", "auroc_mean", "auprc_pooled", "motif_recall", "n_scored")


def score(attr_dir, dataset, *, config: str | None = None, split: str | None = None,
          verbose: bool = False) -> pd.DataFrame:
    """Score every ``<method>__<reference>.npz`` of ``attr_dir`` and write ``attr_dir/scores.csv``.

    Parameters
    ----------
    attr_dir : path
        A folder written by ``regsim attribute`` (each file holds ``attributions`` ``(N, 4, L)`` or
        ``(N, L)`` and ``ids``).
    dataset : path or str
        The dataset the explained sequences come from.
    config : str, optional
        Dataset config (default: the dataset's default).
    split : str, optional
        Split holding the ids (default: the ``split`` recorded in ``attr_dir/summary.json``).
    verbose : bool, default False
        Progress bar over the files.

    Returns
    -------
    pandas.DataFrame
        One row per file: ``file``, ``method``, ``reference``, ``n_sequences`` and every metric key.
    """
    attr_dir = Path(attr_dir)
    if not attr_dir.is_dir():
        raise UserError(f"{attr_dir}: not a folder of attribution files")
    files = sorted(attr_dir.glob("*.npz"))
    if not files:
        raise UserError(f"{attr_dir}: no .npz attribution files")
    summary_path = attr_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    split = split or summary.get("split")
    if split is None:
        raise UserError(f"{attr_dir}: summary.json names no split and the attributions do not come from a "
                        "dataset (give --split if they do)")
    truth = load_split(dataset, split, config or summary.get("config"))
    row_of = {str(identifier): i for i, identifier in enumerate(truth.ids)}
    rows = []
    for path in progress(files, desc="scoring", unit="file", verbose=verbose):
        method, sep, reference = path.stem.partition("__")
        if not sep:
            raise UserError(f"{path}: not named <method>__<reference>.npz")
        with np.load(path) as stored:
            if "attributions" not in stored.files or "ids" not in stored.files:
                raise UserError(f"{path}: holds no 'attributions' and 'ids' arrays")
            arrays = {name: stored[name] for name in stored.files}
        missing = [str(i) for i in arrays["ids"] if str(i) not in row_of]
        if missing:
            raise UserError(f"{path}: sequence id {missing[0]!r} is not in {dataset} split {split!r} "
                            f"({len(missing)} of {len(arrays['ids'])} ids missing)")
        take = np.array([row_of[str(i)] for i in arrays["ids"]], dtype=np.int64)
        if arrays["attributions"].shape[-1] != truth.masks.shape[1]:
            raise UserError(f"{path}: attributions of length {arrays['attributions'].shape[-1]}, but the "
                            f"dataset's sequences have length {truth.masks.shape[1]}")
        scores = score_run(method, arrays, truth.masks[take], [truth.intervals[i] for i in take])
        rows.append({"file": path.name, "method": method, "reference": reference, "n_sequences": len(take),
                     **scores})
    table = pd.DataFrame(rows)
    table.to_csv(attr_dir / "scores.csv", index=False, float_format="%.6g")
    return table


def format_table(table: pd.DataFrame) -> str:
    """The printed summary: one line per file, the main metrics, sorted as in the folder."""
    shown = [c for c in SHOWN if c in table.columns]
    width = max(len("file"), *(len(f) for f in table["file"]))
    lines = [f"{'file':<{width}}  " + "  ".join(f"{c:>12}" for c in shown)]
    for row in table.itertuples(index=False):
        values = [getattr(row, c) for c in shown]
        lines.append(f"{row.file:<{width}}  " + "  ".join(
            f"{v:>12d}" if isinstance(v, (int, np.integer)) else f"{v:>12.4f}" for v in values))
    return "\n".join(lines)
