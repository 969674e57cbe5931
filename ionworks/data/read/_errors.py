"""The one exception every reader raises, so callers catch a single type."""

from __future__ import annotations


class ReaderError(ValueError):
    """A cycler file could not be read: unknown format, corrupt content or missing columns.

    A ``ValueError`` so code written against ionworksdata's readers (which raise ``ValueError``)
    keeps catching it; the message always says where (line or byte offset) and what to do.
    """
