"""``regsim push-model``: upload a trained model folder to the Hugging Face Hub.

The upload is :mod:`regsim.dataset_builder.core.hub`'s, shared with ``regsim publish``: one commit with
exactly the files of the plan (:func:`plan_push`: every file of the folder except hidden ones,
``.name``), tagged ``v<version>``. ``--dry-run`` prints that plan (sha256, size, path) and the target
repository without contacting anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.hub import UploadPlan, plan_upload, upload

REQUIRED_FILES = ("config.json", "model.safetensors", "README.md")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def plan_push(model_dir: str | os.PathLike, repo_id: str, *, private: bool = False, version: str = "1.0.0",
              commit_message: str | None = None) -> UploadPlan:
    """Check a model folder and list what would be uploaded.

    Raises
    ------
    UserError
        Invalid repository id or version; missing folder or required file; pickle weights in the folder;
        a symbolic link.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise UserError(f"model folder {folder} does not exist")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise UserError(f"{folder} is not a trained model folder: no {', '.join(missing)} (write it with `regsim train`)")
    files, skipped = [], []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        hidden = next((i for i, part in enumerate(relative.parts) if part.startswith(".")), None)
        if hidden is not None:
            top = "/".join(relative.parts[: hidden + 1])
            if top not in skipped:
                skipped.append(top)
            continue
        if path.is_dir() and not path.is_symlink():
            continue
        if path.suffix in PICKLE_SUFFIXES:
            raise UserError(f"{path}: pickle-format weights are not pushed; regsim models are safetensors only")
        files.append(relative.as_posix())
    return plan_upload(folder, repo_id, files, repo_type="model", tag=f"v{version}", private=private,
                       skipped=[f"{name} (hidden)" for name in skipped],
                       commit_message=commit_message or f"Upload {folder.name} v{version} with regsim push-model")


def push_model(
    model_dir: str | os.PathLike,
    repo_id: str,
    *,
    dry_run: bool = False,
    private: bool = False,
    token: str | None = None,
    version: str = "1.0.0",
    commit_message: str | None = None,
    verbose: bool = True,
) -> UploadPlan:
    """Upload a model folder to the Hub as one tagged commit (or, with ``dry_run``, only show the plan).

    Parameters
    ----------
    model_dir : str or path
        Folder written by ``regsim train``.
    repo_id : str
        ``ORG/NAME`` of the model repository; created if missing.
    dry_run : bool, default False
        Print the plan and return without any network access.
    private : bool, default False
        Visibility of a newly created repository.
    token : str, optional
        Hub token (default: the logged-in token or ``HF_TOKEN``).
    version : str, default "1.0.0"
        The commit is tagged ``v<version>``.
    commit_message : str, optional
    verbose : bool, default True
        Print the plan (and the commit URL after an upload).

    Returns
    -------
    UploadPlan
    """
    plan = plan_push(model_dir, repo_id, private=private, version=version, commit_message=commit_message)
    if verbose:
        print(("dry run: nothing was uploaded. Would push:\n" if dry_run else "") + plan.describe())
    if dry_run:
        return plan
    url = upload(plan, token=token)
    if verbose:
        print(f"pushed: {url}")
    return plan
