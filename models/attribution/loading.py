"""Load what ``regsim attribute`` explains: a saved model and one split of a regsim dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.sequences import one_hot_encode

from ..devices import torch_device


def load_model(model_dir, device=None):
    """``AutoModelForSequenceClassification.from_pretrained(model_dir)`` in eval mode, or a gkm-SVM
    (:class:`models.gkmsvm.GkmSVMModel`) for a folder written by ``regsim train --arch gkmsvm``.

    Importing :mod:`regsim.models` (this module's parent) registered regsim's auto classes.
    """
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars, one per model

    path = Path(model_dir)
    if not path.is_dir():
        raise UserError(f"model folder {model_dir} does not exist")
    if not (path / "config.json").exists():
        raise UserError(f"model folder {model_dir} has no config.json; give a folder written by `regsim train`")
    from regsim.models.gkmsvm import is_gkmsvm_folder, load_gkmsvm

    if is_gkmsvm_folder(path):
        return load_gkmsvm(path)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(str(path))
    except Exception as error:  # noqa: BLE001 - truncated weights, garbled config, ...: all the user's file
        message = " ".join(str(error).split())[:300]
        raise UserError(f"cannot load the model in {model_dir}: {type(error).__name__}: {message}") from None
    model = model[0] if isinstance(model, tuple) else model
    return model.to(torch_device(device)).eval()


def load_sequences(dataset, config=None, split: str = "test", *, limit: int | None = None):
    """Read one split of a dataset with ``datasets.load_dataset`` and one-hot encode it.

    Parameters
    ----------
    dataset : str or path
        Dataset folder (or Hub id) with a ``sequence`` column and optionally ``id``.
    config : str, optional
    split : str, default "test"
    limit : int, optional
        Keep the first ``limit`` sequences.

    Returns
    -------
    ids : list of str
    X : np.ndarray
        ``(N, 4, L)`` float32 one-hot.
    info : dict
        ``config`` (the resolved config name).
    """
    from regsim.dataset_builder.format import read_split

    table = read_split(dataset, config, split, columns=("sequence",))
    n = len(table) if limit is None else min(limit, len(table))
    table = table.select(range(n))
    sequences = list(table["sequence"])
    ids = [str(i) for i in table["id"]] if "id" in table.column_names else [str(i) for i in range(n)]
    resolved = table.info.config_name or config
    return ids, one_hot_encode(sequences).astype(np.float32), {"config": resolved}
