"""The one exception type for bad user input.

Every module raises :class:`UserError` for problems in what the user gave (a file, a flag, a record);
the ``regsim`` command turns it into a one-line message on stderr and exit status 2, without a traceback.
Messages name the file and line, the field, or the example index at fault.
"""


class UserError(ValueError):
    """Bad input from the user, reported as one line (exit status 2 on the command line)."""
