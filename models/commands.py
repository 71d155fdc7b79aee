"""Subcommands owned by :mod:`models`: ``train``, ``push-model`` and ``attribute``."""

from __future__ import annotations

from dataset_builder.cli import register_from


def register(subparsers) -> None:
    register_from(subparsers, ["models.train_command", "models.attribution.command"])
