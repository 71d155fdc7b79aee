"""Upload a dataset folder to the Hugging Face Hub: the ``regsim publish`` verb.

The folder is uploaded with ``huggingface_hub.HfApi.upload_folder`` into a dataset repository, then
tagged ``v<version>`` (the version recorded in ``build_manifest.json``), so that
``load_dataset(repo_id, config, revision="v1.0.0")`` pins it. ``dry_run`` lists exactly what would be
pushed and contacts nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .core.errors import UserError
from .core.io import sha256

REQUIRED_FILES = ("README.md", "build_manifest.json")


@dataclass
class PublishPlan:
    """What a publish uploads."""

    repo_id: str
    tag: str
    files: list[tuple[str, int, str]]  # (path in repo, bytes, sha256)
    commit_message: str

    def describe(self) -> str:
        lines = [f"dataset repository: {self.repo_id} (repo_type=dataset)", f"tag: {self.tag}",
                 f"commit message: {self.commit_message}", f"files ({len(self.files)}):"]
        lines += [f"  {path}  {size} bytes  sha256:{digest}" for path, size, digest in self.files]
        lines.append(f"total: {sum(size for _, size, _ in self.files)} bytes")
        return "\n".join(lines)


def plan_publish(folder: str | Path, repo_id: str) -> PublishPlan:
    """Check a dataset folder and list what :func:`publish_dataset` would upload."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: not a dataset folder")
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise UserError(f"{folder}: missing {name}; is this a folder written by `regsim build`?")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UserError(f"--repo-id must look like ORG/NAME, got {repo_id!r}")
    try:
        manifest = json.loads((folder / "build_manifest.json").read_text())
        version = manifest["dataset_version"]
    except (json.JSONDecodeError, KeyError) as error:
        raise UserError(f"{folder / 'build_manifest.json'}: unreadable manifest ({error})") from None
    files = [
        (str(path.relative_to(folder)), path.stat().st_size, sha256(path))
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    for relative, _, expected in [(r, s, d) for r, s, d in files if r in manifest.get("outputs", {})]:
        if manifest["outputs"][relative] != expected:
            raise UserError(f"{folder / relative}: changed since the build (sha256 differs from the manifest)")
    return PublishPlan(repo_id=repo_id, tag=f"v{version}", files=files,
                       commit_message=f"regsim dataset {manifest.get('dataset_name', folder.name)} v{version}")


def publish_dataset(folder: str | Path, repo_id: str, *, dry_run: bool = False, private: bool = False,
                    token: str | None = None) -> PublishPlan:
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
    """
    plan = plan_publish(folder, repo_id)
    if dry_run:
        return plan
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="dataset",
                          commit_message=plan.commit_message, ignore_patterns=[".*"])
        api.create_tag(repo_id, tag=plan.tag, repo_type="dataset", tag_message=plan.commit_message)
    except Exception as error:  # network, auth and Hub errors all end the command with one line
        raise UserError(f"upload to {repo_id} failed: {type(error).__name__}: {error}") from None
    return plan
