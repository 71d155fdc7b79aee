"""What every ``regsim`` subcommand shares: the common flags and how a handler's errors end the process.

Each layer's ``commands`` module adds its subcommands with ``register(subparsers)``; the ``regsim``
command itself (:mod:`regsim.cli`, the top of the stack) collects them. User errors
(:class:`~.errors.UserError`) print one line on stderr and exit with status 2; ``--verbose`` adds the
traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from .errors import UserError


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """The ``--verbose`` flag every subcommand takes."""
    parser.add_argument("--verbose", action="store_true", help="more detail, and tracebacks on errors")


def run_handler(args: argparse.Namespace) -> int:
    """Run ``args.handler(args)`` and turn its outcome into an exit status.

    Returns
    -------
    int
        The handler's status (0 when it returns None); 2 after a :class:`UserError`, whose message is
        printed as one line; 130 after Ctrl-C.
    """
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
