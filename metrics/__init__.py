"""Scoring attributions against ground-truth motifs, and the benchmark.

- ``score_attributions`` (with ``AttributionAccumulator``, its batch-by-batch form) is the pure-numpy
  core of the ``motif_attribution`` evaluate module;
- :data:`METRIC_PATH` is the installed folder of that module, so that
  ``evaluate.load(regsim.metrics.METRIC_PATH)`` works from any directory;
- :mod:`regsim.metrics.benchmark` is the paper's experiment end to end (the top of the stack).

Importing this package loads numpy only.
"""

from pathlib import Path

from .motif_attribution._errors import MotifAttributionInputError
from .motif_attribution._scoring import AttributionAccumulator, score_attributions

METRIC_PATH = str(Path(__file__).resolve().parent / "motif_attribution")

__all__ = ["METRIC_PATH", "AttributionAccumulator", "MotifAttributionInputError", "score_attributions"]
