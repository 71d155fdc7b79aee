"""Files: checksums recorded in manifests, cards and caches, and safe writes of output folders.

:func:`replace_folder` is how every regsim command writes a whole output folder (a dataset, a model);
:func:`output_lock` keeps two runs off one output; :func:`write_atomic` writes one file whole.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import UserError


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


# --- output folders: written beside their target, moved into place whole --------------------------

_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_STAGING = ".regsim-staging-"


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """Linux ``renameat2``; False where the system or filesystem does not offer it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if function(at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), flags) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), str(target))


def _protected(resolved: Path) -> str | None:
    """Why ``resolved`` may never be replaced, or None."""
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor):
        return "a filesystem root"
    if resolved == Path.home().resolve():
        return "the home folder"
    if resolved == cwd:
        return "the current folder"
    if cwd.is_relative_to(resolved):
        return "a parent of the current folder"
    return None


@contextlib.contextmanager
def output_lock(out: str | Path):
    """Hold an exclusive lock on the output path ``out`` for the duration of a run.

    The lock is ``flock`` on a hidden file beside ``out`` (``.<name>.regsim-lock``), released (and the
    file removed) when the block ends, or by the system when the process dies.

    Raises
    ------
    UserError
        Another regsim run holds the lock on ``out``, or its folder cannot be written.
    """
    out = Path(out)
    lock_path = out.parent / f".{out.name}.regsim-lock"
    while True:
        try:
            handle = open(lock_path, "a+")
        except OSError as error:
            raise UserError(f"cannot write beside {out}: {error.strerror}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UserError(f"{out}: another regsim run is writing it; wait for it to finish") from None
        try:  # the file we locked may have been removed by the previous holder meanwhile
            same = os.fstat(handle.fileno()).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        yield lock_path
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock_path.unlink()
        handle.close()


@contextlib.contextmanager
def replace_folder(out: str | Path, *, force: bool = False, is_ours=None, kind: str = "output"):
    """Write a whole output folder safely: yield a staging folder beside ``out``, then move it into place.

    - ``out`` must not exist, unless ``force`` and ``is_ours(out)`` say it is a folder regsim wrote;
      the current folder, its parents, the home folder and filesystem roots are never replaced;
    - the staging folder is on the same filesystem (beside ``out``), so the final move is a rename;
    - the old output survives until the new one is complete: the two are exchanged atomically
      (``renameat2``), and the old one is removed afterwards;
    - a run that fails leaves ``out`` as it was; another run on the same ``out`` is refused while this
      one holds :func:`output_lock`; staging folders left by killed runs are removed.

    Parameters
    ----------
    out : path
        The folder to create or replace.
    force : bool, default False
        Replace an existing folder that regsim wrote.
    is_ours : callable, optional
        ``is_ours(path) -> bool``: whether an existing folder is a regsim output of this kind (its
        folder contract). Without it, nothing existing is ever replaced.
    kind : str, default "output"
        Named in messages ("dataset", "model", ...).

    Yields
    ------
    Path
        The staging folder to write into.

    Raises
    ------
    UserError
        ``out`` exists (without ``force``), is a file, is not a regsim folder of this kind, is protected,
        or is being written by another run.
    """
    out = Path(out)
    resolved = out.resolve()
    reason = _protected(resolved)
    if reason:
        raise UserError(f"--out {out} is {reason}; give a new folder")
    if out.exists() or out.is_symlink():
        if not force:
            raise UserError(f"{out} already exists; pass --force to replace it")
        if out.is_symlink() or not out.is_dir():
            raise UserError(f"{out} is not a folder; --force only replaces a {kind} folder that regsim wrote")
        if is_ours is None or not is_ours(out):
            raise UserError(f"{out} is not a regsim {kind} folder; --force only replaces what regsim wrote")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create {out.parent}: {error.strerror}") from None
    with output_lock(out):
        for stale in out.parent.glob(f".{out.name}{_STAGING}*"):
            shutil.rmtree(stale, ignore_errors=True)
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}{_STAGING}", dir=out.parent))
        except OSError as error:
            raise UserError(f"cannot write in {out.parent}: {error.strerror}") from None
        try:
            yield staging
            staging.chmod(0o755)  # mkdtemp makes it private
            _move_into_place(staging, out, force=force, is_ours=is_ours, kind=kind)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def _move_into_place(staging: Path, out: Path, *, force: bool, is_ours, kind: str) -> None:
    if out.exists() or out.is_symlink():
        if not force:
            raise UserError(f"{out} appeared while this run was writing it; pass --force to replace it")
        if out.is_symlink() or not out.is_dir() or is_ours is None or not is_ours(out):
            raise UserError(f"{out} is not a regsim {kind} folder; --force only replaces what regsim wrote")
        if _renameat2(staging, out, _RENAME_EXCHANGE):
            shutil.rmtree(staging)  # now holds the old output
            return
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}{_STAGING}old-", dir=out.parent))
        os.rename(out, old / out.name)
        os.rename(staging, out)
        shutil.rmtree(old)
        return
    if not _renameat2(staging, out, _RENAME_NOREPLACE):
        if out.exists():
            raise UserError(f"{out} appeared while this run was writing it; pass --force to replace it")
        os.rename(staging, out)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
