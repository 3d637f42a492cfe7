"""Errors the analysis raises for input it cannot use."""

from __future__ import annotations


class AnalysisInputError(ValueError):
    """The results directory or an option is unusable; the message names the problem.

    The CLI maps it to exit code 2, so callers can tell bad input from crashes.
    """


def utf8_name(path: object) -> str:
    """``path`` as text, or an AnalysisInputError if its name is not UTF-8: such a name
    cannot be written into the UTF-8 report, so it is refused before anything is written."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise AnalysisInputError(f"{shown}: the file name is not UTF-8; rename it (the report "
                                 "is UTF-8)") from None
    return text
