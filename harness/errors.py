"""Errors the command line reports as bad input (exit code 2)."""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input from the user: the message names the problem and the valid choices."""
