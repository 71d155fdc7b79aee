"""Subcommands owned by :mod:`models`: ``train``, ``push-model`` and ``attribute``."""

from __future__ import annotations

import importlib

_REGISTRARS = ["models.train_command", "models.attribution.command"]


def register(subparsers) -> None:
    for module_name in _REGISTRARS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(subparsers)
