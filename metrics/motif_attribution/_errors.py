"""The one exception the metric raises for bad input.

The metric ships to the Hugging Face Hub on its own, so it cannot import regsim's
``dataset_builder.errors.UserError``; this plain ``ValueError`` subclass plays the same role.
Messages name the example index (0-based, counted over everything passed so far) and the problem.
"""


class MotifAttributionInputError(ValueError):
    """Bad predictions, references or sequences given to the motif_attribution metric."""
