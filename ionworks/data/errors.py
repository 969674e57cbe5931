"""The one error type of the battery-data core."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(Exception):
    """The data cannot be checked or summarised as given.

    The message names the offending column or row and says how to fix the file, because it is
    shown to the person who produced the data: the local server stores it as the measurement's
    ``processing_error`` (where it is known as ``ProcessingError``).
    """
