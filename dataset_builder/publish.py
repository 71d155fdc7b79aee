"""Upload a dataset folder to the Hugging Face Hub: the ``regsim publish`` verb.

:func:`plan_publish` computes what goes into the repository: the parquet shards as they are, the files
of the configuration (``motifs.meme``, ``retained_motifs.tsv``, ``motif_statistics.png``,
``build_manifest.json``) under ``<config>/`` so that several configurations live side by side, and the
card with the real repository id in its load snippet, merged with the card already in the repository
(every configuration listed). The upload is one commit, tagged ``v<version>`` (the version recorded in
``build_manifest.json``), so that ``load_dataset(repo_id, config, revision="v1.0.0")`` pins it.
``dry_run`` lists exactly what would be pushed (the card as it would be uploaded to an empty repository,
with its sha256) and contacts nothing.
"""

from __future__ import annotations

import json
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .core.errors import UserError
from .core.io import sha256
from .dataset_card import PER_CONFIG_FILES, card_for_repo, merge_cards

REQUIRED_FILES = ("README.md", "build_manifest.json")


@dataclass
class PublishPlan:
    """What a publish uploads.

    ``files``: ``(path in the repository, bytes, sha256)`` of what is uploaded; ``sources``: path in the
    repository -> the local file, or the bytes uploaded instead (the rewritten card).
    """

    repo_id: str
    tag: str
    files: list[tuple[str, int, str]]  # (path in repo, bytes, sha256)
    commit_message: str
    sources: dict = field(default_factory=dict)
    config_name: str = ""

    def describe(self) -> str:
        lines = [f"dataset repository: {self.repo_id} (repo_type=dataset)", f"tag: {self.tag}",
                 f"commit message: {self.commit_message}", f"files ({len(self.files)}):"]
        lines += [f"  {path}  {size} bytes  sha256:{digest}"
                  + ("  (the card with this repository's id; merged with the repository's card on upload)"
                     if isinstance(self.sources.get(path), bytes) else "")
                  for path, size, digest in self.files]
        lines.append(f"total: {sum(size for _, size, _ in self.files)} bytes")
        return "\n".join(lines)


def plan_publish(folder: str | Path, repo_id: str, existing_card: str | None = None) -> PublishPlan:
    """Check a dataset folder and compute what :func:`publish_dataset` uploads.

    Parameters
    ----------
    folder : path
        A folder written by ``regsim build``.
    repo_id : str
        ``ORG/NAME``; written into the card's load snippet.
    existing_card : str, optional
        The repository's current ``README.md``: its configurations are kept in the uploaded card.
    """
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
    config_name = manifest.get("config_name") or folder.name
    dataset_name = manifest.get("dataset_name", folder.name)
    card = card_for_repo((folder / "README.md").read_text(), config_name, dataset_name, repo_id)
    card_bytes = merge_cards(existing_card, card, config_name).encode()
    sources, uploaded = {}, []
    for relative, size, digest in files:
        if relative == "README.md":
            sources[relative] = card_bytes
            uploaded.append((relative, len(card_bytes), hashlib.sha256(card_bytes).hexdigest()))
            continue
        target = f"{config_name}/{relative}" if relative in PER_CONFIG_FILES else relative
        sources[target] = folder / relative
        uploaded.append((target, size, digest))
    return PublishPlan(repo_id=repo_id, tag=f"v{version}", files=uploaded, sources=sources, config_name=config_name,
                       commit_message=f"regsim dataset {dataset_name} ({config_name}) v{version}")


def _existing_card(api, repo_id: str) -> str | None:
    """The repository's README.md, or None for a new or empty repository."""
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        path = api.hf_hub_download(repo_id, "README.md", repo_type="dataset")
    except (EntryNotFoundError, RepositoryNotFoundError):
        return None
    return Path(path).read_text()


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
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        plan = plan_publish(folder, repo_id, existing_card=_existing_card(api, repo_id))
        operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=source if isinstance(source, bytes)
                                         else str(source)) for path, source in plan.sources.items()]
        api.create_commit(repo_id, operations, commit_message=plan.commit_message, repo_type="dataset")
        api.create_tag(repo_id, tag=plan.tag, repo_type="dataset", tag_message=plan.commit_message)
    except Exception as error:  # network, auth and Hub errors all end the command with one line
        raise UserError(f"upload to {repo_id} failed: {type(error).__name__}: {error}") from None
    return plan
