"""The one Hugging Face Hub uploader, behind ``regsim publish`` (datasets) and ``regsim push-model``.

An upload is planned first (:func:`plan_upload`: every file with its size and sha256, the repository,
its type and visibility, the version tag, the commit message), then carried out as one commit
(:func:`upload`: create the repository if missing, one ``create_commit`` with exactly the plan's files,
then the tag). ``--dry-run`` prints :meth:`UploadPlan.describe` and contacts nothing; a real upload
prints the same plan first, so the two outputs agree line for line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError
from .io import sha256, sha256_bytes

_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass
class UploadPlan:
    """What an upload pushes.

    ``files`` holds ``{"path", "size", "sha256"}`` per file, sorted by path; a file whose uploaded bytes
    differ from the folder's (a card rewritten for the repository) also has ``"data"`` (bytes).
    """

    repo_id: str
    repo_type: str
    folder: Path
    tag: str | None
    commit_message: str
    private: bool = False
    files: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        prefix = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        return f"https://huggingface.co/{prefix}{self.repo_id}"

    def describe(self) -> str:
        """The plan as text: target, tag, commit message, one line per file, what is left out."""
        visibility = "private" if self.private else "public"
        lines = [
            f"target: {self.url} ({self.repo_type} repository, {visibility}; created if missing)",
            f"tag: {self.tag or '(none)'}",
            f"commit message: {self.commit_message}",
            f"{len(self.files)} files, {sum(f['size'] for f in self.files):,} bytes, from {self.folder}:",
        ]
        width = max((len(f"{f['size']:,}") for f in self.files), default=1)
        lines += [f"  {f['sha256']}  {f['size']:>{width},}  {f['path']}" for f in self.files]
        if self.skipped:
            lines.append(f"not uploaded: {', '.join(self.skipped)}")
        return "\n".join(lines)


def validate_repo_id(repo_id: str, flag: str = "--repo-id") -> None:
    """Raise :class:`UserError` unless ``repo_id`` is a valid ``ORG/NAME`` Hub repository id."""
    from huggingface_hub.utils import HFValidationError
    from huggingface_hub.utils import validate_repo_id as hub_validate

    if not isinstance(repo_id, str) or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UserError(f"{flag} must look like ORG/NAME, got {repo_id!r}")
    try:
        hub_validate(repo_id)
    except HFValidationError as error:
        raise UserError(f"{flag} {repo_id!r} is not a valid Hub repository id: {error}") from None


def validate_tag(tag: str, flag: str = "--version") -> None:
    """Raise :class:`UserError` unless ``tag`` is a usable git tag (letters, digits, ``._-``)."""
    if not _TAG.fullmatch(tag or "") or ".." in tag or tag.endswith((".", ".lock")):
        raise UserError(f"{flag}: {tag!r} does not make a valid tag (letters, digits, '.', '_', '-')")


def plan_upload(
    folder: str | Path,
    repo_id: str,
    relative_paths,
    *,
    repo_type: str,
    tag: str | None,
    commit_message: str,
    private: bool = False,
    skipped=(),
    replacements: dict | None = None,
) -> UploadPlan:
    """Plan the upload of ``relative_paths`` of ``folder``.

    Parameters
    ----------
    folder : path
    repo_id : str
        ``ORG/NAME``.
    relative_paths : iterable of str
        The files to push, relative to ``folder``; each must be a regular file inside it.
    repo_type : {"dataset", "model"}
    tag : str or None
        Tag created on the commit (e.g. ``v1.0.0``).
    commit_message : str
    private : bool, default False
        Visibility of a repository created by the upload.
    skipped : iterable of str
        Files or folders deliberately left out, shown by :meth:`UploadPlan.describe`.
    replacements : dict, optional
        ``{relative path: bytes}`` uploaded instead of the file's bytes.

    Raises
    ------
    UserError
        Invalid repository id or tag; a path that is missing, a symbolic link or outside ``folder``.
    """
    folder = Path(folder)
    validate_repo_id(repo_id)
    if tag is not None:
        validate_tag(tag)
    replacements = replacements or {}
    root = folder.resolve()
    plan = UploadPlan(repo_id=repo_id, repo_type=repo_type, folder=folder, tag=tag, commit_message=commit_message,
                      private=private, skipped=sorted(skipped))
    for relative in sorted(set(relative_paths) | set(replacements)):
        path = folder / relative
        if path.is_symlink():
            raise UserError(f"{path}: a symbolic link; only regular files inside the folder are uploaded")
        if not path.resolve().is_relative_to(root):
            raise UserError(f"{path}: outside {folder}")
        if relative in replacements:
            data = replacements[relative]
            plan.files.append({"path": relative, "size": len(data), "sha256": sha256_bytes(data), "data": data})
            continue
        if not path.is_file():
            raise UserError(f"{path}: missing, or not a regular file")
        plan.files.append({"path": relative, "size": path.stat().st_size, "sha256": sha256(path)})
    return plan


def upload(plan: UploadPlan, *, token: str | None = None) -> str:
    """Carry out ``plan``: create the repository if missing, push one commit, tag it.

    Returns
    -------
    str
        The commit's URL.

    Raises
    ------
    UserError
        Any network, authentication or Hub error, as one line (nothing is retried).
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    operations = [
        CommitOperationAdd(path_in_repo=f["path"], path_or_fileobj=f.get("data", str(plan.folder / f["path"])))
        for f in plan.files
    ]
    try:
        api.create_repo(plan.repo_id, repo_type=plan.repo_type, private=plan.private, exist_ok=True)
        commit = api.create_commit(plan.repo_id, operations, repo_type=plan.repo_type,
                                   commit_message=plan.commit_message)
        if plan.tag:
            api.create_tag(plan.repo_id, tag=plan.tag, repo_type=plan.repo_type, tag_message=plan.commit_message,
                           revision=getattr(commit, "oid", None))
    except Exception as error:  # network, auth and Hub errors all end the command with one line
        message = str(error).splitlines()[0] if str(error) else ""
        raise UserError(f"upload to {plan.url} failed: {type(error).__name__}: {message}") from None
    return commit.commit_url
