"""Scoring attributions against ground-truth motifs, and the benchmark report.

``score_attributions`` is the pure-numpy core of the ``evaluate`` metric in
``metrics/motif_attribution/`` (load it with ``evaluate.load("metrics/motif_attribution")``);
``AttributionAccumulator`` is its batch-by-batch form.  Importing this package loads numpy only.
"""

from .motif_attribution._errors import MotifAttributionInputError
from .motif_attribution._scoring import AttributionAccumulator, score_attributions

__all__ = ["AttributionAccumulator", "MotifAttributionInputError", "score_attributions"]
