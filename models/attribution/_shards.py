"""Attribution results on disk in shards, and the processes that share the work.

A run of ``regsim attribute`` explains the sequences shard by shard (``shard_size`` sequences each):
every shard's arrays go to ``ATTR_DIR/.shards/<method>__<reference>/shard-NNNNN.npz`` as soon as they are
computed, so memory is bounded by a shard, and the final ``<method>__<reference>.npz`` is assembled from
the shards, in order, by streaming their bytes into one archive: it has exactly the bytes that
:func:`~.attribute.save_npz` gives the whole arrays.

Under ``accelerate launch --multi_gpu --num_processes N`` (torchrun and torch.distributed underneath: CPU
processes over gloo when there is no GPU, one process per GPU, or several nodes) process ``r`` computes shards ``r, r + N, r + 2N, ...``; after a barrier the main process
assembles the files. The shards and their order are those of one process, so the files hold the same ids
in the same order, and values equal to float32 rounding.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import numpy as np

SHARD_DIR = ".shards"


class Processes:
    """This process's place among those ``accelerate launch`` started (one process when not launched).

    Attributes
    ----------
    index, count : int
        Rank and world size.
    device : str or None
        The device accelerate assigned to this process (None when not launched).
    """

    def __init__(self):
        self._state = None
        self.index, self.count, self.device = 0, 1, None
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            import torch
            from accelerate import PartialState

            # Without a GPU the processes talk over gloo (torch.distributed's CPU backend).
            self._state = PartialState(cpu=not torch.cuda.is_available())
            self.index, self.count = self._state.process_index, self._state.num_processes
            self.device = None if self._state.device.type == "cpu" else str(self._state.device)

    @property
    def main(self) -> bool:
        return self.index == 0

    def mine(self, shard: int) -> bool:
        return shard % self.count == self.index

    def wait(self) -> None:
        """Barrier: every process reaches it before any goes on."""
        if self._state is not None:
            self._state.wait_for_everyone()


def shard_folder(out_dir: Path, file_name: str) -> Path:
    return Path(out_dir) / SHARD_DIR / file_name.removesuffix(".npz")


def write_shard(folder: Path, shard: int, arrays: dict) -> None:
    """Write one shard's arrays (atomically: a partial shard is never read)."""
    from .attribute import save_npz

    folder.mkdir(parents=True, exist_ok=True)
    save_npz(folder / f"shard-{shard:05d}.npz", **arrays)


def _npy_header(dtype: np.dtype, shape: tuple) -> bytes:
    """The ``.npy`` header ``numpy.lib.format.write_array`` writes for an array of this dtype and shape."""
    import io

    buffer = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)}
    try:
        np.lib.format.write_array_header_1_0(buffer, header)
    except ValueError:  # header too long for format 1.0, as write_array's own fallback
        buffer = io.BytesIO()
        np.lib.format.write_array_header_2_0(buffer, header)
    return buffer.getvalue()


def assemble(folder: Path, n_shards: int, target: Path, layout: list[tuple[str, str | np.ndarray]]) -> dict:
    """Write ``target`` (``.npz``): the shards' arrays concatenated along the first axis, and whole arrays.

    Parameters
    ----------
    folder : Path
        Holds ``shard-00000.npz`` ... ``shard-{n_shards - 1}.npz``.
    n_shards : int
    target : Path
    layout : list of (name, source)
        The archive's entries in order: a str source names the shards' array to concatenate, in shard
        order; an array is written as it is.

    Returns
    -------
    dict
        Name -> shape of every array written.
    """
    paths = [folder / f"shard-{k:05d}.npz" for k in range(n_shards)]
    sharded = [source for _, source in layout if isinstance(source, str)]
    specs, rows = {}, dict.fromkeys(sharded, 0)
    for path in paths:
        with np.load(path) as shard:
            for name in sharded:
                specs[name] = (shard[name].dtype, shard[name].shape[1:])
                rows[name] += shard[name].shape[0]
    shapes = {}
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, source in layout:
            if isinstance(source, str):
                dtype, tail = specs[source]
                shape = (rows[source], *tail)
                header = _npy_header(dtype, shape)
                with archive.open(_entry(name, len(header) + int(np.prod(shape)) * dtype.itemsize), "w") as dest:
                    dest.write(header)
                    for path in paths:
                        with np.load(path) as shard:
                            dest.write(np.ascontiguousarray(shard[source]).tobytes())
            else:
                array = np.asanyarray(source)
                shape = array.shape
                header = _npy_header(array.dtype, shape)
                with archive.open(_entry(name, len(header) + array.nbytes), "w") as dest:
                    dest.write(header)
                    dest.write(np.ascontiguousarray(array).tobytes())
            shapes[name] = shape
    tmp.replace(target)
    return shapes


def _entry(name: str, size: int) -> zipfile.ZipInfo:
    """The zip entry :func:`~.attribute.save_npz` writes (fixed time stamp, size known up front, as writestr)."""
    info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.file_size = size
    return info


def remove_shards(out_dir: Path) -> None:
    """Remove the shard folder (regsim's own, under the output folder)."""
    shutil.rmtree(Path(out_dir) / SHARD_DIR, ignore_errors=True)
