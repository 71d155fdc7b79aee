"""One-line, time-stamped progress messages for multi-stage commands (``build``, ``benchmark``)."""

from __future__ import annotations

import time


class StageLog:
    """Print ``[elapsed] message`` lines when ``verbose``; callable."""

    def __init__(self, verbose: bool = True):
        self.verbose = verbose
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.verbose:
            print(f"[{time.perf_counter() - self.started:7.1f}s] {message}", flush=True)
