"""Input formats the analysis reads (a light module: the CLI imports it at startup)."""

from __future__ import annotations

from analysis.errors import AnalysisInputError

FORMATS: tuple[str, ...] = ("auto", "records", "legacy")


def validate_format(input_format: str) -> str:
    """``input_format`` if it is one of :data:`FORMATS`; else the one-line error naming them."""
    if input_format not in FORMATS:
        raise AnalysisInputError(
            f"unknown input format {input_format!r}; valid choices: {', '.join(FORMATS)}"
        )
    return input_format
