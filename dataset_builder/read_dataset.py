"""Read a regsim dataset (a folder written by ``regsim build``, or a Hub repository) into memory."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .errors import UserError


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
