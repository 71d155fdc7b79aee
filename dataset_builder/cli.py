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

# (module, function) pairs that add subcommands; order is the order shown in --help.
_REGISTRARS = [
    ("dataset_builder.commands", "register"),
    ("models.commands", "register"),
    ("metrics.commands", "register"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regsim",
        description="Realistic simulated regulatory-genomics datasets, CNNs and attribution benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"regsim {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name, function_name in _REGISTRARS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        getattr(module, function_name)(subparsers)
    return parser


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
