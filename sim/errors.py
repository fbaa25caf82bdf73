"""The one family of errors a user can cause.

The CLI prints these without a traceback and exits non-zero; anything else is a bug.
"""


class SimError(Exception):
    """A problem with the user's input or environment, explained in the message."""


class ScenarioError(SimError):
    """A scenario file, override or parameter path is wrong; the message names file, key and allowed values."""
