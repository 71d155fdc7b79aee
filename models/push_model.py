"""``regsim push-model``: upload a trained model folder to the Hugging Face Hub.

The upload is one commit with exactly the files of the plan (:func:`plan_push`): every file of the
folder except hidden ones (``.name``), each as a ``CommitOperationAdd``; the model card is rendered
again for the repository (its name, the training dataset's Hub id in ``datasets:``, usage examples that
load it by that id). ``--dry-run`` prints that plan
(path, size, sha256) and the target repository without contacting anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from regsim.dataset_builder.core.io import sha256
from regsim.dataset_builder.core.errors import UserError

REQUIRED_FILES = ("config.json", "model.safetensors", "README.md")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


@dataclass
class PushPlan:
    """What :func:`push_model` uploads: the repository and every file with its size and sha256."""

    repo_id: str
    private: bool
    folder: Path
    files: list[dict] = field(default_factory=list)  # {"path", "size", "sha256"[, "content"]}, sorted by path
    skipped: list[str] = field(default_factory=list)  # hidden files and folders left out

    def describe(self) -> str:
        visibility = "private" if self.private else "public"
        lines = [f"target: https://huggingface.co/{self.repo_id} (model repository, {visibility}; created if missing)"]
        lines.append(f"{len(self.files)} files, {sum(f['size'] for f in self.files):,} bytes, from {self.folder}:")
        width = max(len(f"{f['size']:,}") for f in self.files)
        lines += [f"  {f['sha256']}  {f['size']:>{width},}  {f['path']}" for f in self.files]
        if self.skipped:
            lines.append(f"not uploaded (hidden): {', '.join(self.skipped)}")
        return "\n".join(lines)


def plan_push(model_dir: str | os.PathLike, repo_id: str, *, private: bool = False,
              dataset_repo_id: str | None = None) -> PushPlan:
    """Check a model folder and list what would be uploaded (``README.md``: the card rendered for
    ``repo_id``, its bytes in ``content``).

    Raises
    ------
    UserError
        Invalid repository id; missing folder or required file; pickle weights in the folder.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    folder = Path(model_dir)
    if "/" not in repo_id:
        raise UserError(f"--repo-id {repo_id!r} must be ORG/NAME")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise UserError(f"--repo-id {repo_id!r} is not a valid Hub repository id: {error}") from error
    if not folder.is_dir():
        raise UserError(f"model folder {folder} does not exist")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise UserError(f"{folder} is not a trained model folder: no {', '.join(missing)} (write it with `regsim train`)")
    plan = PushPlan(repo_id=repo_id, private=private, folder=folder)
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        hidden = next((i for i, part in enumerate(relative.parts) if part.startswith(".")), None)
        if hidden is not None:
            top = "/".join(relative.parts[: hidden + 1])
            if top not in plan.skipped:
                plan.skipped.append(top)
            continue
        if not path.is_file():
            continue
        if path.suffix in PICKLE_SUFFIXES:
            raise UserError(f"{path}: pickle-format weights are not pushed; regsim models are safetensors only")
        if relative.as_posix() == "README.md" and (folder / "training_log.json").is_file():
            import hashlib

            from .model_card import render_model_card

            content = render_model_card(folder, model_name=repo_id, dataset_repo_id=dataset_repo_id).encode()
            plan.files.append({"path": "README.md", "size": len(content),
                               "sha256": hashlib.sha256(content).hexdigest(), "content": content})
            continue
        plan.files.append({"path": relative.as_posix(), "size": path.stat().st_size, "sha256": sha256(path)})
    return plan


def push_model(
    model_dir: str | os.PathLike,
    repo_id: str,
    *,
    dry_run: bool = False,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
    dataset_repo_id: str | None = None,
    verbose: bool = True,
) -> PushPlan:
    """Upload a model folder to the Hub as one commit (or, with ``dry_run``, only show the plan).

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
        Hub token (default: the logged-in token).
    commit_message : str, optional
    dataset_repo_id : str, optional
        Hub id of the training dataset, for the card's ``datasets:`` metadata (default: the id it was
        loaded from, when that was a Hub repository).
    verbose : bool, default True
        Print the plan (and the commit URL after an upload).

    Returns
    -------
    PushPlan
    """
    plan = plan_push(model_dir, repo_id, private=private, dataset_repo_id=dataset_repo_id)
    if verbose:
        print(("dry run, nothing pushed\n" if dry_run else "") + plan.describe())
    if dry_run:
        return plan

    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    operations = [CommitOperationAdd(path_in_repo=f["path"], path_or_fileobj=f.get("content") or str(plan.folder / f["path"]))
                  for f in plan.files]
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.create_commit(
            repo_id,
            operations,
            repo_type="model",
            commit_message=commit_message or f"Upload {plan.folder.name} with regsim push-model",
        )
    except (HfHubHTTPError, OSError) as error:
        raise UserError(f"upload to {repo_id} failed: {error}") from error
    if verbose:
        print(f"pushed: {commit.commit_url}")
    return plan
