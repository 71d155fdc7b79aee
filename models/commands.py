"""Subcommands owned by :mod:`regsim.models`: ``train``, ``push-model`` and ``attribute``."""

from __future__ import annotations

from . import train_command
from .attribution import command as attribute_command


def register(subparsers) -> None:
    train_command.register(subparsers)
    attribute_command.register(subparsers)
