"""What every ``regsim`` subcommand shares: the common flags and how a handler's errors end the process.

Each layer's ``commands`` module adds its subcommands with ``register(subparsers)``; the ``regsim``
command itself (:mod:`regsim.cli`, the top of the stack) collects them. User errors
(:class:`~.errors.UserError`) and file-system errors (a read-only folder, a full disk) print one line
on stderr and exit with status 2; anything else is a bug in regsim, said so in one line (exit status 1).
``--verbose`` adds the traceback.
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
        The handler's status (0 when it returns None); 2 after a :class:`UserError` or an ``OSError``
        (printed as one line); 1 after an unexpected error (a bug); 130 after Ctrl-C.
    """
    verbose = getattr(args, "verbose", False)
    try:
        status = args.handler(args)
    except KeyboardInterrupt:
        print(f"regsim {args.command}: interrupted", file=sys.stderr)
        return 130
    except UserError as error:
        return _fail(args.command, f"error: {_one_line(error)}", 2, verbose)
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _fail(args.command, f"error: {where}{error.strerror or _one_line(error)}", 2, verbose)
    except Exception as error:  # noqa: BLE001 - the last resort: one line, never a bare traceback
        return _fail(
            args.command,
            f"internal error ({type(error).__name__}: {_one_line(error)}). This is a bug in regsim, not in "
            "your input: please report it to the regsim issue tracker with the output of the same command "
            "run with --verbose",
            1,
            verbose,
        )
    return int(status or 0)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 500 else text[:497] + "..."


def _fail(command: str, message: str, status: int, verbose: bool) -> int:
    if verbose:
        traceback.print_exc()
    print(f"regsim {command}: {message}", file=sys.stderr)
    return status
