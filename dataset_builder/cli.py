"""The ``regsim`` console command.

One parser with subcommands; each subcommand is registered by the package that owns its verb:
``build`` and ``publish`` here in :mod:`dataset_builder`, ``train``, ``push-model`` and ``attribute``
in :mod:`models`, ``benchmark`` in :mod:`metrics`. Heavy imports happen inside the handlers so that
``regsim --help`` stays fast.

User errors (:class:`~dataset_builder.errors.UserError`) print one line on stderr and exit with status 2;
``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from .errors import UserError

# Modules whose register(subparsers) adds subcommands; order is the order shown in --help.
_REGISTRARS = ["dataset_builder.commands", "models.commands", "metrics.commands"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regsim",
        description="Realistic simulated regulatory-genomics datasets, CNNs and attribution benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"regsim {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_from(subparsers, _REGISTRARS)
    return parser


def register_from(subparsers, module_names: list[str]) -> None:
    """Let each module in ``module_names`` add its subcommands through its ``register(subparsers)``."""
    for module_name in module_names:
        importlib.import_module(module_name).register(subparsers)


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """The ``--verbose`` flag every subcommand takes."""
    parser.add_argument("--verbose", action="store_true", help="more detail, and tracebacks on errors")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.handler(args)
    except UserError as error:
        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(f"regsim {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"regsim {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("regsim")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
