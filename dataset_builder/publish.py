"""Upload a dataset folder to the Hugging Face Hub: the ``regsim publish`` verb.

What is pushed is what the build recorded: every output listed in ``build_manifest.json`` (each checked
against its sha256, so a deleted, edited or symlinked file stops the upload) and the manifest itself,
as one commit of a dataset repository, tagged ``v<version>`` so that
``load_dataset(repo_id, config, revision="v1.0.0")`` pins it. Files the build did not write are left
out and listed. :func:`plan_publish` computes what goes where: the parquet shards as they are, the files
of the configuration (``motifs.meme``, ``retained_motifs.tsv``, ``motif_statistics.png``, the manifest)
under ``<config>/`` so that several configurations live side by side, and the card with the real
repository id in its load snippet, merged with the card already in the repository (every configuration
listed; :func:`~.dataset_card.merge_cards`). The upload itself is
:mod:`regsim.dataset_builder.core.hub`'s, shared with ``regsim push-model``; ``dry_run`` shows the same
plan (the card as it would go to an empty repository, with its sha256) and contacts nothing.
"""

from __future__ import annotations

from pathlib import Path

from .core.errors import UserError
from .core.hub import UploadPlan, plan_upload, upload
from .dataset_card import PER_CONFIG_FILES, card_for_repo, merge_cards
from .format import MANIFEST, read_manifest, verify_outputs


def plan_publish(folder: str | Path, repo_id: str, *, private: bool = False,
                 existing_card: str | None = None) -> UploadPlan:
    """Check a dataset folder against its manifest and compute what :func:`publish_dataset` uploads.

    Parameters
    ----------
    folder : path
        A folder written by ``regsim build``.
    repo_id : str
        ``ORG/NAME``; written into the card's load snippet.
    private : bool, default False
    existing_card : str, optional
        The repository's current ``README.md``: its configurations are kept in the uploaded card.

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
    config_name = manifest.get("config_name") or folder.name
    dataset_name = manifest.get("dataset_name") or folder.name
    per_config = sorted(p for p in listed if p in PER_CONFIG_FILES)
    card = card_for_repo((folder / "README.md").read_text(), config_name, dataset_name, repo_id)
    replacements = {"README.md": merge_cards(existing_card, card, config_name).encode()}
    replacements.update({f"{config_name}/{p}": (folder / p).read_bytes() for p in per_config})
    return plan_upload(
        folder, repo_id, sorted(listed - set(per_config) - {"README.md"}), repo_type="dataset", tag=f"v{version}",
        private=private, skipped=extra, replacements=replacements,
        commit_message=f"regsim dataset {dataset_name} ({config_name}) v{version}",
    )


def _existing_card(repo_id: str, token: str | None) -> str | None:
    """The repository's README.md, or None for a new or empty repository."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, "README.md", repo_type="dataset", token=token)).read_text()
    except (EntryNotFoundError, RepositoryNotFoundError):
        return None
    except Exception as error:  # network and auth errors end the command with one line
        raise UserError(f"cannot read the card of {repo_id}: {type(error).__name__}: {error}") from None


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
        existing = _existing_card(repo_id, token)
        if existing is not None:
            plan = plan_publish(folder, repo_id, private=private, existing_card=existing)
        upload(plan, token=token)
    return plan
