"""Upload a dataset folder to the Hugging Face Hub: the ``regsim publish`` verb.

What is pushed is what the build recorded: every output listed in ``build_manifest.json`` (each checked
against its sha256, so a deleted, edited or symlinked file stops the upload) and the manifest itself,
as one commit of a dataset repository, tagged ``v<version>`` so that
``load_dataset(repo_id, config, revision="v1.0.0")`` pins it. Files the build did not write are left
out and listed. The upload itself is :mod:`regsim.dataset_builder.core.hub`'s, shared with
``regsim push-model``; ``dry_run`` shows the same plan and contacts nothing.
"""

from __future__ import annotations

from pathlib import Path

from .core.errors import UserError
from .core.hub import UploadPlan, plan_upload, upload
from .format import MANIFEST, read_manifest, verify_outputs


def plan_publish(folder: str | Path, repo_id: str, *, private: bool = False) -> UploadPlan:
    """Check a dataset folder against its manifest and list what :func:`publish_dataset` would upload.

    Raises
    ------
    UserError
        Not a dataset folder; a malformed manifest; a recorded file missing, changed or a symbolic
        link; an invalid repository id or version tag.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: not a dataset folder")
    manifest = read_manifest(folder)
    verify_outputs(folder, manifest)
    version = manifest["dataset_version"]
    listed = set(manifest["outputs"]) | {MANIFEST}
    extra = sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if (path.is_file() or path.is_symlink()) and path.relative_to(folder).as_posix() not in listed
    )
    return plan_upload(
        folder, repo_id, sorted(listed), repo_type="dataset", tag=f"v{version}", private=private, skipped=extra,
        commit_message=f"regsim dataset {manifest.get('dataset_name') or folder.name} v{version}",
    )


def publish_dataset(folder: str | Path, repo_id: str, *, dry_run: bool = False, private: bool = False,
                    token: str | None = None) -> UploadPlan:
    """Upload ``folder`` to the dataset repository ``repo_id`` and tag it ``v<version>``.

    Parameters
    ----------
    folder : path
        A folder written by ``regsim build``.
    repo_id : str
        ``ORG/NAME`` on the Hub.
    dry_run : bool, default False
        Only check the folder and return the plan; nothing is contacted.
    private : bool, default False
        Create the repository as private.
    token : str, optional
        Hub token (default: the cached login or ``HF_TOKEN``).

    Returns
    -------
    UploadPlan
    """
    plan = plan_publish(folder, repo_id, private=private)
    if not dry_run:
        upload(plan, token=token)
    return plan
