"""Parse name lists from the command line (``--vpn wireguard,tinc`` or repeated flags)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.errors import UsageError


def parse_names(values: Iterable[str], valid: Sequence[str], what: str,
                default: Sequence[str]) -> list[str]:
    """Split comma lists, expand ``all``, keep order, reject unknown names."""
    names: list[str] = []
    for value in values:
        names.extend(part.strip().lower() for part in value.split(",") if part.strip())
    if not names:
        return list(default)
    if "all" in names:
        return list(valid)
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise UsageError(
            f"unknown {what} {', '.join(repr(name) for name in unknown)}; "
            f"valid: {', '.join(valid)}, all"
        )
    return list(dict.fromkeys(names))
