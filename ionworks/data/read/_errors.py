"""The one exception every reader raises, so callers catch a single type."""

from __future__ import annotations


class ReaderError(ValueError):
    """A cycler file could not be read: unknown format, corrupt content or missing columns.

    A ``ValueError`` so code written against ionworksdata's readers (which raise ``ValueError``)
    keeps catching it; the message always says where (line or byte offset) and what to do.
    """


class UnknownFormat(ReaderError):
    """No reader recognises the file (detection failed; nothing forced).

    ``found`` says what the file is (the supported readers, or a workbook's sheets); the message
    goes on to say how to force a reader or map the columns in Python, and the command line
    says that with its own options (``-r``, ``--column``). ``workbook`` is True for an Excel
    file, whose mapping also names the sheet.
    """

    def __init__(self, found: str, advice: str, *, workbook: bool = False) -> None:
        super().__init__(f"{found}{advice}")
        self.found = found
        self.workbook = workbook
