"""Which VPNs ``vpn-bench keys`` makes material for (the registry's), and parsing ``--vpn``."""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import UsageError
from harness.vpns.registry import VPNS, with_keys


def key_vpns() -> list[str]:
    return [vpn.name for vpn in with_keys()]


def select_vpns(requested: Iterable[str]) -> list[str]:
    """Comma lists or repeated names, ``all`` or nothing for every VPN; registry order."""
    names = [name.strip() for item in requested for name in item.split(",") if name.strip()]
    makeable = key_vpns()
    valid = ", ".join(makeable)
    for name in names:
        if name == "all":
            continue
        elsewhere = VPNS[name].keys_elsewhere if name in VPNS else None
        if elsewhere:
            raise UsageError(f"vpn-bench keys makes nothing for {name!r}: {elsewhere} "
                             f"(docs/secrets.md); valid: {valid}, all")
        if name not in makeable:
            raise UsageError(f"unknown VPN {name!r}; valid: {valid}, all")
    if not names or "all" in names:
        return makeable
    return [vpn for vpn in makeable if vpn in names]
