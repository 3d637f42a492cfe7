"""Safe lookups in parsed JSON, so a missing or odd field yields None instead of a crash."""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]


def get_path(document: object, *path: str | int) -> object:
    """The value at ``path`` inside nested dicts/lists, or None if any step is missing."""
    current = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return None
            current = current[step]
        else:
            if not isinstance(current, dict):
                return None
            current = current.get(step)
    return current


def get_number(document: object, *path: str | int) -> float | None:
    """A finite-or-not number at ``path``; booleans and strings are not numbers."""
    value = get_path(document, *path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def get_object(document: object, *path: str | int) -> JsonObject | None:
    value = get_path(document, *path)
    return value if isinstance(value, dict) else None


def get_text(document: object, *path: str | int) -> str | None:
    value = get_path(document, *path)
    return value if isinstance(value, str) else None
