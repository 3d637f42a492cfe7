"""Parse name lists from the command line (``--vpn wireguard,tinc`` or repeated flags)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.errors import UsageError


def parse_names(values: Iterable[str], valid: Sequence[str], what: str,
                default: Sequence[str]) -> list[str]:
    """Split comma lists, expand ``all``, keep order, reject unknown names.

    No value at all means ``default``; values that name nothing (``--vpn ''``, ``--vpn ,``)
    are an error, never "everything".
    """
    given = list(values)
    names: list[str] = []
    for value in given:
        names.extend(part.strip().lower() for part in value.split(",") if part.strip())
    if not given:
        return list(default)
    if not names:
        raise UsageError(f"no {what} given (an empty list); valid: {', '.join(valid)}, all")
    if "all" in names:
        return list(valid)
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise UsageError(
            f"unknown {what} {', '.join(repr(name) for name in unknown)}; "
            f"valid: {', '.join(valid)}, all"
        )
    return list(dict.fromkeys(names))
