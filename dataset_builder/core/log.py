"""The one progress logger: stage lines and progress bars for every long-running step.

- :class:`StageLog`: ``[elapsed] message`` lines for multi-stage commands (``build``, ``train``,
  ``benchmark``), written between the bars so that neither breaks the other;
- :func:`progress`: a tqdm bar with an ETA, shown only when ``verbose`` and stderr is a terminal, so a
  redirected log gets the stage lines and not thousands of bar refreshes.

Every command's ``--quiet`` turns both off (``verbose=False``).
"""

from __future__ import annotations

import sys
import time


def _on_terminal() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it", verbose: bool = True,
             leave: bool = False):
    """A progress bar over ``iterable`` (or ``total`` items updated by hand).

    Parameters
    ----------
    iterable : iterable, optional
        Items to wrap; omit to call ``update(n)`` yourself.
    total : int, optional
        Number of items (default: ``len(iterable)`` where it has one).
    desc : str
        Label shown before the bar.
    unit : str, default "it"
    verbose : bool, default True
        False disables the bar; it is also disabled when stderr is not a terminal.
    leave : bool, default False
        Keep the finished bar on screen.

    Returns
    -------
    tqdm.tqdm
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not (verbose and _on_terminal()),
                leave=leave, dynamic_ncols=True, file=sys.stderr)


class StageLog:
    """Print ``[elapsed] message`` lines when ``verbose``; callable.

    Parameters
    ----------
    verbose : bool, default True
    stream : {"stdout", "stderr"}, default "stdout"
        Where the lines go (``train`` logs to stderr, beside its bars).
    elapsed : bool, default True
        Prefix each line with the seconds since the log was created.
    """

    def __init__(self, verbose: bool = True, *, stream: str = "stdout", elapsed: bool = True):
        self.verbose = verbose
        self.stream = stream
        self.elapsed = elapsed
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.verbose:
            return
        from tqdm.auto import tqdm

        if self.elapsed:
            message = f"[{time.perf_counter() - self.started:7.1f}s] {message}"
        tqdm.write(message, file=getattr(sys, self.stream))
        getattr(sys, self.stream).flush()
