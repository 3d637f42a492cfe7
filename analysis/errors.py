"""Errors the analysis raises for input it cannot use."""

from __future__ import annotations


class AnalysisInputError(ValueError):
    """The results directory or an option is unusable; the message names the problem.

    The CLI maps it to exit code 2, so callers can tell bad input from crashes.
    """
