"""The ``motif_attribution`` evaluate module (``motif_attribution.py``) and its numpy helpers.

This file only makes the folder importable as ``metrics.motif_attribution``; ``evaluate.load``
ignores it and copies the module with the ``_*.py`` helpers it imports.
"""
